"""Authentication as small flow objects: `apply(request, session)` returns the signed request.

Example, a scheme that signs every request with a header:

    @dataclass(frozen=True)
    class Signed:
        secret: str
        @property
        def secrets(self): return (self.secret,)
        async def apply(self, request, session):
            return replace(request, headers={**request.headers, "X-Sig": sign(self.secret, request.url)})
"""

from .schemes import APIKeyAuth, Auth, BasicAuth, BearerAuth, OAuth2ClientCredentials, parse_auth

__all__ = ["APIKeyAuth", "Auth", "BasicAuth", "BearerAuth", "OAuth2ClientCredentials", "parse_auth"]
