"""OAuthAuthenticator's refresh-token grant: sluice's OAuth2 flow, another token request.

The CDK posts `grant_type=refresh_token` with the client id, secret and refresh token as
form fields (plus `refresh_request_body`), and reads the token and its lifetime from the
fields `access_token_name` and `expires_in_name` name. A rotating refresh token (the CDK's
`refresh_token_updater`) is not supported: it must be written back to the user's config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..auth.schemes import OAuth2ClientCredentials


@dataclass(frozen=True, repr=False)
class OAuth2RefreshToken(OAuth2ClientCredentials):
    refresh_token: str = ""
    access_token_name: str = "access_token"
    expires_in_name: str = "expires_in"

    @property
    def secrets(self) -> tuple[str, ...]:
        return (*super().secrets, self.refresh_token)

    def _token_body(self, body: Any) -> dict[str, Any]:
        if isinstance(body, dict) and self.access_token_name in body:
            expires = body.get(self.expires_in_name, self.default_token_expiration)
            body = {**body, "access_token": body[self.access_token_name], "expires_in": expires}
        return super()._token_body(body)

    def _token_request(self) -> tuple[dict[str, Any], dict[str, str]]:
        data, headers = super()._token_request()
        return {**data, "grant_type": "refresh_token", "refresh_token": self.refresh_token, **self.access_token_request_data}, headers

    def __repr__(self) -> str:
        return f"OAuth2RefreshToken(access_token_url={self.access_token_url!r}, client_id=***, client_secret=***, refresh_token=***)"
