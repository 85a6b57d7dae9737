import dlt
from sluice import rest_api_source

source = rest_api_source({
    "client": {
        "base_url": "https://api.example.com/v1/",
        "auth": {
            "type": "api_key",
            "name": "x-api-key",
            "api_key": dlt.secrets["api_key"],
            "location": "header"
        }
    },
    "resource_defaults": {
        "primary_key": "_id",
        "write_disposition": "merge"
    },
    "resources": [
        {
            "name": "events",
            "endpoint": {
                "path": "/events",
                "data_selector": "events",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit_param": "pageSize",
                    "limit": 100,
                    "start_from_page": 1
                }
            }
        },
        {
            "name": "orders",
            "endpoint": {
                "path": "/events/{eventid}/orders",
                "data_selector": "orders",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit_param": "pageSize",
                    "limit": 100,
                    "start_from_page": 1
                }
            }
        },
        {
            "name": "tickets",
            "endpoint": {
                "path": "/events/{eventid}/tickets",
                "data_selector": "tickets",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit_param": "pageSize",
                    "limit": 100,
                    "start_from_page": 1
                }
            }
        },
        {
            "name": "tags",
            "endpoint": {
                "path": "/tags",
                "data_selector": "tags",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit_param": "pageSize",
                    "limit": 100,
                    "start_from_page": 1
                }
            }
        }
    ]
})
