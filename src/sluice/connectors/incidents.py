import dlt
from sluice import rest_api_source

source = rest_api_source({
    "client": {
        "base_url": "https://api.example.com",
        "auth": {
            "type": "api_key",
            "name": "api_key",
            "api_key": dlt.secrets["api_token"],
            "location": "header"
        }
    },
    "resource_defaults": {
        "primary_key": "id",
        "write_disposition": "merge"
    },
    "resources": [
        {
            "name": "users",
            "endpoint": {
                "path": "/v2/users",
                "data_selector": "data",
                "paginator": {
                    "type": "cursor",
                    "cursor_value": '{{ response.get("paging", {}).get("next", {}) }}',
                    "stop_condition": '{{ not response.get("paging", {}).get("next", {}) }}'
                }
            }
        },
        {
            "name": "teams",
            "endpoint": {
                "path": "/v2/teams",
                "data_selector": "data",
                "paginator": {
                    "type": "cursor",
                    "cursor_value": '{{ response.get("paging", {}).get("next", {}) }}',
                    "stop_condition": '{{ not response.get("paging", {}).get("next", {}) }}'
                }
            }
        },
        {
            "name": "services",
            "endpoint": {
                "path": "/v1/services",
                "data_selector": "data",
                "paginator": {
                    "type": "cursor",
                    "cursor_value": '{{ response.get("paging", {}).get("next", {}) }}',
                    "stop_condition": '{{ not response.get("paging", {}).get("next", {}) }}'
                }
            }
        },
        {
            "name": "integrations",
            "endpoint": {
                "path": "/v2/integrations",
                "data_selector": "data",
                "paginator": {
                    "type": "cursor",
                    "cursor_value": '{{ response.get("paging", {}).get("next", {}) }}',
                    "stop_condition": '{{ not response.get("paging", {}).get("next", {}) }}'
                }
            }
        },
        {
            "name": "incidents",
            "endpoint": {
                "path": "/v1/incidents",
                "data_selector": "data",
                "paginator": {
                    "type": "cursor",
                    "cursor_value": '{{ response.get("paging", {}).get("next", {}) }}',
                    "stop_condition": '{{ not response.get("paging", {}).get("next", {}) }}'
                }
            }
        },
        {
            "name": "alerts",
            "endpoint": {
                "path": "/v2/alerts",
                "data_selector": "data",
                "paginator": {
                    "type": "cursor",
                    "cursor_value": '{{ response.get("paging", {}).get("next", {}) }}',
                    "stop_condition": '{{ not response.get("paging", {}).get("next", {}) }}'
                }
            }
        }
    ]
})
