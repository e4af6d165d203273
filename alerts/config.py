"""Alert settings from the environment: Slack credentials, channels per rule, grouping, pacing."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from gtm.errors import GtmError

DEFAULT_API_URL = "https://slack.com/api/"
CHANNEL_DEFAULTS = {
    "customer_alerts": "#customer-alerts",
    "customer_health": "#customer-health",
    "digests": "#daily-summaries",
}
RULE_CATEGORIES = {
    "cancel_mention": "customer_alerts",
    "payment_issue": "customer_alerts",
    "new_high_value": "customer_alerts",
    "large_mrr_change": "customer_alerts",
    "source_sync": "customer_alerts",
    "health_drop": "customer_health",
    "engagement_drop": "customer_health",
    "digest_daily": "digests",
    "digest_weekly": "digests",
}


def _number(name: str, default: float, minimum: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise GtmError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise GtmError(f"{name} must be at least {minimum:g} (got {raw})")
    return value


@dataclass(frozen=True)
class AlertConfig:
    bot_token: str | None = None
    webhook_url: str | None = None
    api_url: str = DEFAULT_API_URL
    channels: dict[str, str] = field(default_factory=lambda: dict(CHANNEL_DEFAULTS))
    rule_channels: dict[str, str] = field(default_factory=dict)
    group_threshold: int = 5
    min_interval: float = 1.0
    timeout: float = 30.0
    max_retries: int = 2
    # GTM_REPORT_URL: where the `gtm report` page is published; the weekly digest links it when set
    report_url: str | None = None

    @classmethod
    def from_env(cls) -> AlertConfig:
        channels = {
            category: os.environ.get(f"SLACK_CHANNEL_{category.upper()}", "").strip() or default
            for category, default in CHANNEL_DEFAULTS.items()
        }
        rule_channels = {
            rule: os.environ[f"SLACK_CHANNEL_{rule.upper()}"].strip()
            for rule in RULE_CATEGORIES
            if os.environ.get(f"SLACK_CHANNEL_{rule.upper()}", "").strip()
        }
        api_url = os.environ.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
        return cls(
            bot_token=os.environ.get("SLACK_BOT_TOKEN", "").strip() or None,
            webhook_url=os.environ.get("SLACK_WEBHOOK_URL", "").strip() or None,
            report_url=os.environ.get("GTM_REPORT_URL", "").strip() or None,
            api_url=api_url if api_url.endswith("/") else api_url + "/",
            channels=channels,
            rule_channels=rule_channels,
            group_threshold=int(_number("GTM_ALERT_GROUP_THRESHOLD", 5, 1)),
            min_interval=_number("SLACK_MIN_INTERVAL_SECONDS", 1.0, 0),
            timeout=_number("SLACK_TIMEOUT_SECONDS", 30.0, 0.1),
            max_retries=int(_number("SLACK_MAX_RETRIES", 2, 0)),
        )

    @property
    def configured(self) -> bool:
        return bool(self.bot_token or self.webhook_url)

    def channel_for(self, rule: str) -> str:
        """The channel of a rule: SLACK_CHANNEL_<RULE>, else its category's channel."""
        return self.rule_channels.get(rule) or self.channels[RULE_CATEGORIES.get(rule, "customer_alerts")]
