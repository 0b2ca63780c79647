"""Home page and sign-up. Log in, log out and password reset are Django's own views."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from organizations import services
from organizations.forms import SignupForm


def home(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "organizations/home.html")


@never_cache  # the response may carry the first secret token
@require_http_methods(["GET", "HEAD", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, organization, plaintext = services.user_signup(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                organization_name=form.cleaned_data["organization_name"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome! Your organization {organization} is ready.")
            # The plaintext token exists only in this response: it is never stored, so
            # it is rendered here rather than carried through a redirect.
            return render(
                request,
                "organizations/signup_done.html",
                {
                    "organization": organization,
                    "token_plaintext": plaintext,
                    "site_url": settings.SITE_URL,
                },
            )
    return render(request, "registration/signup.html", {"form": form})
