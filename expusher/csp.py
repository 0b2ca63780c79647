"""A Content-Security-Policy on every HTML page (Django 5.2 has none built in; 6.0 has).

The pages load scripts and styles from this server only, none inline (the chat demo's
configuration is a JSON data block, which is not run), so the policy allows nothing
else: an injected <script> or inline event handler does not run, and a page can neither
send data to another origin nor be framed. Other responses (JSON, JavaScript, CSS) get no
policy: one on them would not protect anything.
"""

from django.utils.deprecation import MiddlewareMixin

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # Swagger UI's icons are data: URLs in its stylesheet
        "connect-src 'self'",  # includes ws: and wss: to this host (CSP Level 3)
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# DRF's browsable API puts style attributes and Pygments' <style> in its pages; scripts
# stay this server's only.
BROWSABLE_API_POLICY = POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    def process_response(self, request, response):
        if "Content-Security-Policy" in response or not _is_html(response):
            return response
        renderer = getattr(response, "accepted_renderer", None)
        browsable = getattr(renderer, "format", None) == "api"
        response["Content-Security-Policy"] = BROWSABLE_API_POLICY if browsable else POLICY
        return response


def _is_html(response) -> bool:
    return response.get("Content-Type", "").partition(";")[0].strip() == "text/html"
