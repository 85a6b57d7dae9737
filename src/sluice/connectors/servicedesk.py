import dlt
from sluice import rest_api_source

source = rest_api_source({
    "client": {
        "base_url": "https://api.example.com/api/v2",
        "auth": {
            "type": "basic",
            "username": dlt.secrets["api_key"],
            "password": dlt.secrets["api_key"]
        }
    },
    "resource_defaults": {
        "primary_key": "id",
        "write_disposition": "merge"
    },
    "resources": [
        {
            "name": "tickets",
            "endpoint": {
                "path": "/tickets",
                "data_selector": "tickets",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit": 30
                },
                "error_handler": {
                    "retry_on_status_codes": [403],
                    "max_retries": 3,
                    "backoff_factor": 2
                }
            }
        },
        {
            "name": "satisfaction_survey_responses",
            "endpoint": {
                "path": "/tickets/{parent_id}/csat_response",
                "data_selector": "csat_response",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit": 30
                },
                "error_handler": {
                    "retry_on_status_codes": [403],
                    "max_retries": 3,
                    "backoff_factor": 2
                }
            }
        },
        {
            "name": "requested_items",
            "endpoint": {
                "path": "/tickets/{parent_id}/requested_items",
                "data_selector": "requested_items",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit": 30
                },
                "error_handler": {
                    "retry_on_status_codes": [403, 404],
                    "max_retries": 3,
                    "backoff_factor": 2
                }
            }
        },
        {
            "name": "problems",
            "endpoint": {
                "path": "/problems",
                "data_selector": "problems",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit": 30
                },
                "error_handler": {
                    "retry_on_status_codes": [403],
                    "max_retries": 3,
                    "backoff_factor": 2
                }
            }
        },
        {
            "name": "changes",
            "endpoint": {
                "path": "/changes",
                "data_selector": "changes",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit": 30
                },
                "error_handler": {
                    "retry_on_status_codes": [403],
                    "max_retries": 3,
                    "backoff_factor": 2
                }
            }
        },
        {
            "name": "releases",
            "endpoint": {
                "path": "/releases",
                "data_selector": "releases",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit": 30
                },
                "error_handler": {
                    "retry_on_status_codes": [403],
                    "max_retries": 3,
                    "backoff_factor": 2
                }
            }
        },
        {
            "name": "requesters",
            "endpoint": {
                "path": "/requesters",
                "data_selector": "requesters",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit": 30
                },
                "error_handler": {
                    "retry_on_status_codes": [403],
                    "max_retries": 3,
                    "backoff_factor": 2
                }
            }
        },
        {
            "name": "agents",
            "endpoint": {
                "path": "/agents",
                "data_selector": "agents",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit": 30
                },
                "error_handler": {
                    "retry_on_status_codes": [403],
                    "max_retries": 3,
                    "backoff_factor": 2
                }
            }
        },
        {
            "name": "locations",
            "endpoint": {
                "path": "/locations",
                "data_selector": "locations",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit": 30
                },
                "error_handler": {
                    "retry_on_status_codes": [403],
                    "max_retries": 3,
                    "backoff_factor": 2
                }
            }
        },
        {
            "name": "products",
            "endpoint": {
                "path": "/products",
                "data_selector": "products",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit": 30
                },
                "error_handler": {
                    "retry_on_status_codes": [403],
                    "max_retries": 3,
                    "backoff_factor": 2
                }
            }
        },
        {
            "name": "vendors",
            "endpoint": {
                "path": "/vendors",
                "data_selector": "vendors",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit": 30
                },
                "error_handler": {
                    "retry_on_status_codes": [403],
                    "max_retries": 3,
                    "backoff_factor": 2
                }
            }
        },
        {
            "name": "assets",
            "endpoint": {
                "path": "/assets",
                "data_selector": "assets",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit": 30
                },
                "error_handler": {
                    "retry_on_status_codes": [403],
                    "max_retries": 3,
                    "backoff_factor": 2
                }
            }
        },
        {
            "name": "software",
            "endpoint": {
                "path": "/applications",
                "data_selector": "applications",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit": 30
                },
                "error_handler": {
                    "retry_on_status_codes": [403],
                    "max_retries": 3,
                    "backoff_factor": 2
                }
            }
        },
        {
            "name": "purchase_orders",
            "endpoint": {
                "path": "/purchase_orders",
                "data_selector": "purchase_orders",
                "paginator": {
                    "type": "page_number",
                    "page_param": "page",
                    "limit": 30
                },
                "error_handler": {
                    "retry_on_status_codes": [403],
                    "max_retries": 3,
                    "backoff_factor": 2
                }
            }
        }
    ]
})
