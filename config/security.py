"""A content security policy on every page: scripts and styles from this site only, plus the inline ones a page
marks with this request's nonce (the API documentation page's); no framing, no plugins, forms posting here only.
A page that sets its own policy (the reader pages' stricter one, studies.views) keeps it."""

import secrets

POLICY = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", POLICY.format(nonce=request.csp_nonce))
        return response


def csp_nonce(request):
    """Templates: `nonce="{{ csp_nonce }}"` on an inline script or style."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
