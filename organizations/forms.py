"""Forms of the web UI. They validate shapes; organizations.services does the work."""

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from organizations.credentials import MAX_SECRET_GRACE_SECONDS
from organizations.models import Membership
from organizations.validators import (
    WEBHOOK_EVENTS,
    origin_normalize,
    topic_pattern_validate,
    webhook_url_validate,
)

User = get_user_model()


class SignupForm(forms.Form):
    email = forms.EmailField(max_length=150, widget=forms.EmailInput(attrs={"autofocus": True}))
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password confirmation",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    organization_name = forms.CharField(max_length=100)

    def clean_email(self) -> str:
        return self.cleaned_data["email"].lower()

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords do not match.")
        elif password1:
            # An unsaved user lets the similarity validator compare against the e-mail.
            email = cleaned.get("email", "")
            candidate = User(username=email, email=email)
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class EmailAuthenticationForm(AuthenticationForm):
    """Log in with the e-mail address, which is also the username."""

    username = forms.CharField(
        label="E-mail", max_length=150, widget=forms.EmailInput(attrs={"autofocus": True})
    )

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


class InclusivePasswordResetForm(PasswordResetForm):
    """Password reset that also reaches invited users who never chose a password.

    Django skips users with an unusable password (they might sign in elsewhere, e.g.
    LDAP). Here the only such users are invitees, and the reset link is how they set
    their first password. The link stops working once a password is set, because the
    token covers the password hash.
    """

    def get_users(self, email):
        users = User._default_manager.filter(email__iexact=email, is_active=True)
        return (u for u in users if u.email.lower() == email.lower())


def invitation_send(*, request, email: str) -> None:
    """E-mail a newly added member a link to choose their password. Its link names the
    host the inviter used, as Django's password-reset mail does (organizations.site)."""
    form = InclusivePasswordResetForm({"email": email})
    form.is_valid()
    form.save(
        request=request,
        use_https=request.is_secure(),
        subject_template_name="registration/invitation_subject.txt",
        email_template_name="registration/invitation_email.txt",
        extra_email_context={"inviter": request.user.email},
    )


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=100)


class ApplicationCreateForm(forms.Form):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"autofocus": True}))


class LinesField(forms.CharField):
    """A textarea holding one value per line; cleans to a list without blanks or repeats."""

    widget = forms.Textarea(attrs={"rows": 4})

    def __init__(self, *, item_validator, **kwargs):
        self.item_validator = item_validator
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list | tuple) else value

    def clean(self, value) -> list[str]:
        text = super().clean(value) or ""
        items, errors = [], []
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                line = self.item_validator(line) or line
            except forms.ValidationError as error:
                errors.extend(error.error_list)
                continue
            if line not in items:
                items.append(line)
        if errors:
            raise forms.ValidationError(errors)
        return items


class ApplicationSettingsForm(forms.Form):
    name = forms.CharField(max_length=100)
    allowed_origins = LinesField(
        item_validator=origin_normalize,
        help_text="One origin per line, e.g. https://example.com. Empty allows any origin.",
    )
    anonymous_listen = LinesField(
        item_validator=topic_pattern_validate,
        help_text="Topic patterns a socket without a JWT may join, one per line (e.g. public:*).",
    )
    anonymous_publish = LinesField(
        item_validator=topic_pattern_validate,
        help_text="Topic patterns a socket without a JWT may push to, one per line.",
    )
    client_publishing = forms.BooleanField(
        required=False, help_text="Allow browsers to push events (client events)."
    )
    max_connections = forms.IntegerField(
        min_value=0, max_value=10_000_000, help_text="Concurrent connections; 0 is unlimited."
    )
    max_presence_members = forms.IntegerField(min_value=1, max_value=100_000)
    client_push_rate = forms.IntegerField(
        min_value=1, max_value=10_000, help_text="Client pushes per second per socket."
    )
    webhook_url = forms.URLField(
        required=False,
        max_length=200,
        assume_scheme="https",
        label="Webhook URL",
        validators=[webhook_url_validate],
    )
    webhook_extra_urls = LinesField(
        item_validator=webhook_url_validate,
        label="More webhook URLs",
        help_text="Each gets every webhook too; one http(s) URL per line, at most 4.",
    )
    webhook_events = forms.MultipleChoiceField(
        required=False,
        choices=[(event, event) for event in WEBHOOK_EVENTS],
        widget=forms.CheckboxSelectMultiple,
        help_text="The webhook events to send.",
    )
    webhooks_enabled = forms.BooleanField(
        required=False, label="Send webhooks", help_text="Off: nothing is sent; URLs are kept."
    )


class ArchiveForm(forms.Form):
    """Archiving cannot be undone from the UI, so the name must be typed to confirm."""

    confirm_name = forms.CharField(label="Type the application name to confirm")

    def __init__(self, *args, expected_name: str, **kwargs):
        self.expected_name = expected_name
        super().__init__(*args, **kwargs)

    def clean_confirm_name(self) -> str:
        value = self.cleaned_data["confirm_name"].strip()
        if value != self.expected_name:
            raise forms.ValidationError("The name does not match.")
        return value


class SecretTokenForm(forms.Form):
    label = forms.CharField(
        max_length=100, required=False, help_text="Where this token is used, e.g. production."
    )
    description = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional: which server holds it, who to ask before revoking it.",
    )


class SecretRotateForm(forms.Form):
    grace_seconds = forms.IntegerField(
        label="Grace period (seconds)",
        initial=0,
        min_value=0,
        max_value=MAX_SECRET_GRACE_SECONDS,
        help_text="How long the old secret keeps working beside the new one: 0 stops it "
        "at once; 3600 is an hour, 86400 a day, 604800 (a week) at most.",
    )


class MemberAddForm(forms.Form):
    email = forms.EmailField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)
