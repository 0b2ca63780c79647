"""Home page, sign-up and log-in. Log out and password reset are Django's own views."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from organizations import throttle
from organizations.forms import EmailAuthenticationForm, SignupForm
from organizations.signup import signup_complete, signup_pending, signup_request
from organizations.site import public_base_url


def home(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "organizations/home.html")


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request):
    """The same answer for every valid form, whether the address has an account or not
    (organizations.signup): a message is on its way to it."""
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        signup_request(
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            organization_name=form.cleaned_data["organization_name"],
            base_url=public_base_url(request),
        )
        request.session["signup_email"] = form.cleaned_data["email"]
        return redirect("signup_sent")
    return render(request, "registration/signup.html", {"form": form})


def signup_sent(request):
    email = request.session.get("signup_email")
    return render(request, "registration/signup_sent.html", {"email": email})


@never_cache  # the response may carry the first secret token
@require_http_methods(["GET", "HEAD", "POST"])
def signup_confirm(request, token: str):
    """The link from the sign-up message. GET asks for a click (mail scanners that
    follow links must not create the account and see its token); POST creates it."""
    if request.user.is_authenticated:
        return redirect("dashboard")
    try:
        pending = signup_pending(token)
    except ValidationError as error:
        return render(request, "registration/signup_invalid.html", {"error": error}, status=400)
    if request.method != "POST":
        return render(request, "registration/signup_confirm.html", {"pending": pending})
    try:
        user, organization, plaintext = signup_complete(token=token)
    except ValidationError:
        messages.info(request, "Your account exists already: log in.")
        return redirect("login")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, f"Welcome! Your organization {organization} is ready.")
    # The plaintext token exists only in this response: it is never stored, so it is
    # rendered here rather than carried through a redirect.
    base_url = public_base_url(request)
    context = {"organization": organization, "token_plaintext": plaintext, "site_url": base_url}
    context["session_snippet"] = render_to_string(
        "organizations/snippets/welcome_session.txt", {"token": plaintext, "site_url": base_url}
    ).strip("\n")
    return render(request, "organizations/signup_done.html", context)


class LoginView(auth_views.LoginView):
    """Django's log-in, refusing with 429 an account or an address that failed too often
    (organizations.throttle): past the limit even the right password waits."""

    authentication_form = EmailAuthenticationForm

    def post(self, request, *args, **kwargs):
        self.account = (request.POST.get("username") or "").strip().lower()[:150]
        self.address = throttle.client_address(request)
        wait = max(
            throttle.login_failures_per_account().retry_after(self.account),
            throttle.failures_per_address("login").retry_after(self.address),
        )
        if wait:
            context = self.get_context_data(form=self.authentication_form(request), wait=wait)
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        throttle.login_failures_per_account().failed(self.account)
        throttle.failures_per_address("login").failed(self.address)
        return super().form_invalid(form)

    def form_valid(self, form):
        throttle.login_failures_per_account().reset(self.account)
        return super().form_valid(form)
