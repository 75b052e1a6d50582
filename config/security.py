"""A content security policy on every response: scripts and styles from this site only, plus the inline ones a page
marks with this request's nonce (the API documentation page's); no framing, no plugins, forms posting here only.

The nonce enters the header only when a page used it, so every other response (the reader's pixels, JSON, the
admin's pages) carries the same policy on every request. A page that sets its own policy (the reader pages'
stricter one, studies.views) keeps it."""

import secrets

POLICY = (
    "default-src 'self'; script-src 'self'{nonce}; style-src 'self'{nonce}; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class Nonce:
    """This request's nonce, made when a template first writes it (`nonce="{{ csp_nonce }}"`)."""

    def __init__(self):
        self.value = ""

    def __str__(self) -> str:
        if not self.value:
            self.value = secrets.token_urlsafe(18)
        return self.value

    __html__ = __str__


def policy(nonce: Nonce | None = None) -> str:
    return POLICY.format(nonce=f" 'nonce-{nonce.value}'" if nonce is not None and nonce.value else "")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = Nonce()
        response = self.get_response(request)
        if "Content-Security-Policy" not in response.headers:
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()  # a template response: its nonce is known once it is rendered
            response.headers["Content-Security-Policy"] = policy(request.csp_nonce)
        return response


def csp_nonce(request):
    """Templates: `nonce="{{ csp_nonce }}"` on an inline script or style."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
