"""{% webhook_panel application %}: an application's webhook settings and recent deliveries,
for its page (templates/webhooks/_panel.html)."""

from datetime import UTC, datetime

from django import template

from organizations.webhook_log import webhook_deliveries_recent, webhook_delivery_counts

register = template.Library()


@register.inclusion_tag("webhooks/_application.html", takes_context=True)
def webhook_panel(context, application) -> dict:
    deliveries = [
        {**delivery, "at": datetime.fromtimestamp(delivery["at"], UTC)}
        for delivery in webhook_deliveries_recent(application.pk)
    ]
    return {
        "application": application,
        "organization": context["organization"],
        "membership": context.get("membership"),
        "csrf_token": context.get("csrf_token"),
        "deliveries": deliveries,
        "counts": webhook_delivery_counts(application.pk),
    }
