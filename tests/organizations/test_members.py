import re

from django.contrib.auth import get_user_model
from django.urls import reverse

from organizations.models import Membership

User = get_user_model()


def _add(client, organization, email, role="member"):
    url = reverse("member_add", kwargs={"org": organization.slug})
    return client.post(url, {"email": email, "role": role})


def test_it_invites_a_new_user_by_email(alice_client, alice_org, mailoutbox, settings, client):
    settings.ALLOWED_HOSTS = ["push.example.com", "testserver"]
    settings.SITE_URL = "http://elsewhere.example"  # the inviter's request wins

    url = reverse("member_add", kwargs={"org": alice_org.slug})
    request = {"HTTP_HOST": "push.example.com", "secure": True}
    response = alice_client.post(url, {"email": "Dave@Example.org", "role": "admin"}, **request)

    assert response.status_code == 302
    dave = User.objects.get(email="dave@example.org")
    assert not dave.has_usable_password()
    assert Membership.objects.get(user=dave, organization=alice_org).role == "admin"
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["dave@example.org"]
    assert "alice@example.org" in message.body

    # The link in the invitation lets Dave choose a password and log in.
    link = re.search(r"https://push\.example\.com(/accounts/reset/\S+)", message.body).group(1)
    form_url = client.get(link).url
    password = "dave's own passphrase"
    client.post(form_url, {"new_password1": password, "new_password2": password})
    dave.refresh_from_db()
    assert dave.check_password(password)


def test_it_lets_an_invitee_ask_for_a_new_link(client, alice_org, alice_client, mailoutbox):
    _add(alice_client, alice_org, "dave@example.org")
    mailoutbox.clear()

    client.post(reverse("password_reset"), {"email": "dave@example.org"})

    assert [m.to for m in mailoutbox] == [["dave@example.org"]]


def test_it_adds_an_existing_user_without_mail(alice_client, alice_org, charlie, mailoutbox):
    response = _add(alice_client, alice_org, charlie.email)

    assert response.status_code == 302
    assert Membership.objects.get(user=charlie, organization=alice_org).role == "member"
    assert mailoutbox == []


def test_it_refuses_to_add_a_member_twice(alice_client, alice_org, bob):
    response = _add(alice_client, alice_org, bob.email)

    assert response.status_code == 200
    assert "already a member" in response.context["form"].errors["email"][0]


def test_it_validates_the_email(alice_client, alice_org):
    response = _add(alice_client, alice_org, "not an email")

    assert response.context["form"].errors["email"]
    assert alice_org.memberships.count() == 1


def test_it_lists_members_with_roles(bob_client, alice_org):
    page = bob_client.get(reverse("organization_detail", args=[alice_org.slug])).content
    page = page.decode()

    assert "alice@example.org" in page
    assert "bob@example.org" in page
    assert "Admin" in page
    assert "Member" in page


def test_it_changes_a_role(alice_client, alice_org, bob_membership):
    url = reverse(
        "member_update", kwargs={"org": alice_org.slug, "membership_id": bob_membership.pk}
    )

    assert alice_client.post(url, {"role": "admin"}).status_code == 302

    bob_membership.refresh_from_db()
    assert bob_membership.role == "admin"


def test_it_keeps_the_last_admin(alice_client, alice, alice_org):
    own = alice_org.memberships.get(user=alice)
    kwargs = {"org": alice_org.slug, "membership_id": own.pk}

    response = alice_client.post(reverse("member_update", kwargs=kwargs), {"role": "member"})
    assert response.status_code == 200
    assert "at least one admin" in response.content.decode()

    response = alice_client.post(reverse("member_remove", kwargs=kwargs), follow=True)
    assert "at least one admin" in response.content.decode()

    own.refresh_from_db()
    assert own.role == "admin"


def test_it_removes_a_member_who_then_loses_access(alice_client, bob_client, alice_org, bob):
    membership = alice_org.memberships.get(user=bob)
    url = reverse("member_remove", kwargs={"org": alice_org.slug, "membership_id": membership.pk})

    assert alice_client.post(url).status_code == 302

    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert User.objects.filter(pk=bob.pk).exists()
    detail = reverse("organization_detail", args=[alice_org.slug])
    assert bob_client.get(detail).status_code == 404


def test_an_admin_can_leave_when_another_admin_remains(alice_client, alice, alice_org, bob):
    Membership.objects.filter(user=bob).update(role="admin")
    own = alice_org.memberships.get(user=alice)
    url = reverse("member_remove", kwargs={"org": alice_org.slug, "membership_id": own.pk})

    response = alice_client.post(url)

    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    assert not alice_org.memberships.filter(user=alice).exists()
