"""Secret tokens: create (plaintext shown once), rename and describe, revoke."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from organizations import selectors, services
from organizations.forms import SecretTokenForm
from organizations.views.access import found_or_404, organization_view


@organization_view
@never_cache  # the response carries the plaintext token
def secret_token_create(request, *, organization, membership):
    form = SecretTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token, plaintext = services.secret_token_create(
            organization=organization, label=form.cleaned_data["label"], created_by=request.user
        )
        if form.cleaned_data["description"]:
            services.secret_token_update(token=token, description=form.cleaned_data["description"])
        # Only a digest is stored: this response is the one place the plaintext appears.
        return render(
            request,
            "organizations/secret_token_created.html",
            {"organization": organization, "token": token, "token_plaintext": plaintext},
        )
    return render(
        request,
        "organizations/secret_token_create.html",
        {"form": form, "organization": organization, "membership": membership},
    )


@organization_view
def secret_token_update(request, *, organization, membership, token_id: int):
    token = found_or_404(selectors.secret_token_get(organization=organization, token_id=token_id))
    initial = {"label": token.label, "description": token.description}
    form = SecretTokenForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.secret_token_update(token=token, **form.cleaned_data)
        messages.success(request, f"Saved {token}.")
        return redirect("organization_detail", org=organization.slug)
    return render(
        request,
        "organizations/secret_token_update.html",
        {"form": form, "organization": organization, "membership": membership, "token": token},
    )


@organization_view
def secret_token_revoke(request, *, organization, membership, token_id: int):
    token = found_or_404(selectors.secret_token_get(organization=organization, token_id=token_id))
    if request.method == "POST":
        services.secret_token_revoke(token=token)
        messages.success(request, f"Revoked {token}. JWTs issued from it stop working.")
        return redirect("organization_detail", org=organization.slug)
    return render(
        request,
        "organizations/secret_token_revoke.html",
        {"organization": organization, "membership": membership, "token": token},
    )
