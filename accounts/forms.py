from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    """A 6-digit code from the authenticator app, or a recovery code."""

    code = forms.CharField(label=_("Code"), max_length=32, strip=True)

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not code or not all(ch.isalnum() or ch == "-" for ch in code):
            raise forms.ValidationError(_("Enter the code from your authenticator app or a recovery code."))
        return code
