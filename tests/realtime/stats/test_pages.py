"""The dashboard's statistics: an application's JSON (drawn on its page) and the
organization's usage page, for members only."""

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from realtime.stats import counts, flusher

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def traffic(app_id: int) -> None:
    """What a day of an application could hold: 2 publishes reaching 5 sockets, and so on."""
    figures = counts.of(app_id)
    figures.published += 2
    figures.delivered += 5
    figures.api_requests += 3
    figures.client_events += 1
    figures.refused += 4
    async_to_sync(flusher.flush)()


def statistics_path(app) -> str:
    return f"/orgs/{app.organization.slug}/apps/{app.app_key}/statistics.json"


def test_a_member_gets_the_figures_of_today_and_every_minute(bob, alice_app):
    traffic(alice_app.id)
    response = signed_in(bob).get(statistics_path(alice_app))
    assert response.status_code == 200
    data = response.json()
    assert data["connections"] == 0
    assert data["today"] == {
        "published": 2,
        "delivered": 5,
        "messages": 7,
        "api_requests": 3,
        "client_events": 1,
        "webhooks_sent": 0,
        "webhooks_failed": 0,
        "refused": 4,
    }
    series = data["minutes"]["series"]
    assert (series["messages"][-1], series["refused"][-1]) == (7, 4)
    assert data["minutes"]["step"] == 60


def test_the_application_page_carries_the_charts(alice, alice_app):
    page = signed_in(alice).get(f"/orgs/{alice_app.organization.slug}/apps/{alice_app.app_key}/")
    html = page.content.decode()
    assert f'data-url="{statistics_path(alice_app)}"' in html
    assert "/static/expusher/vendor/uplot/uPlot.iife.min.js" in html


def test_outsiders_get_nothing(charlie, alice_app, client):
    assert signed_in(charlie).get(statistics_path(alice_app)).status_code == 404
    assert client.get(statistics_path(alice_app)).status_code == 302  # to the log-in page
    usage = f"/orgs/{alice_app.organization.slug}/usage/"
    assert signed_in(charlie).get(usage).status_code == 404


def test_the_usage_page_shows_today_and_the_month_per_application(alice, alice_app, alice_org):
    from organizations import services

    quiet, _ = services.application_create(organization=alice_org, name="Quiet")
    traffic(alice_app.id)
    html = signed_in(alice).get(f"/orgs/{alice_org.slug}/usage/").content.decode()
    busy_row = html.split(f'data-app="{alice_app.app_key}"')[1].split("</tr>")[0]
    assert '<td class="number" data-usage="today-messages">7</td>' in busy_row
    assert '<td class="number" data-usage="month-api_requests">3</td>' in busy_row
    quiet_row = html.split(f'data-app="{quiet.app_key}"')[1].split("</tr>")[0]
    assert '<td class="number" data-usage="month-messages">0</td>' in quiet_row
