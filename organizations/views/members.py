"""Members: add (inviting new users by e-mail), change role, remove."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from organizations import selectors, services
from organizations.forms import MemberAddForm, MemberRoleForm, invitation_send
from organizations.views.access import found_or_404, organization_view


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


@organization_view
def member_add(request, *, organization, membership):
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added, user_created = services.membership_add(
                organization=organization,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if user_created:
                invitation_send(request=request, email=added.user.email)
                messages.success(request, f"Invited {added.user.email}: we e-mailed them a link.")
            else:
                messages.success(request, f"Added {added.user.email}.")
            return redirect("organization_detail", org=organization.slug)
    return render(
        request,
        "organizations/member_add.html",
        {"form": form, "organization": organization, "membership": membership},
    )


@organization_view
def member_update(request, *, organization, membership, membership_id: int):
    target = found_or_404(
        selectors.membership_get_by_id(organization=organization, membership_id=membership_id)
    )
    form = MemberRoleForm(request.POST or None, initial={"role": target.role})
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_set_role(membership=target, role=form.cleaned_data["role"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{target.user.email} is now {target.get_role_display()}.")
            return redirect("organization_detail", org=organization.slug)
    return render(
        request,
        "organizations/member_update.html",
        {"form": form, "organization": organization, "membership": membership, "target": target},
    )


@organization_view
def member_remove(request, *, organization, membership, membership_id: int):
    target = found_or_404(
        selectors.membership_get_by_id(organization=organization, membership_id=membership_id)
    )
    if request.method == "POST":
        try:
            services.membership_remove(membership=target)
        except ValidationError as error:
            messages.error(request, _error_text(error))
            return redirect("member_remove", org=organization.slug, membership_id=target.pk)
        messages.success(request, f"Removed {target.user.email}.")
        if target.user_id == request.user.pk:
            return redirect("dashboard")
        return redirect("organization_detail", org=organization.slug)
    return render(
        request,
        "organizations/member_remove.html",
        {"organization": organization, "membership": membership, "target": target},
    )
