"""Pure functions from alert rows (dicts of marts.alert_candidates) to Slack Block Kit messages, and from
messages to the plain text `gtm alerts --dry-run` prints."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Row = dict[str, Any]

RULE_TITLES = {
    "cancel_mention": "Cancel mention",
    "payment_issue": "Payment issue",
    "health_drop": "Health drop",
    "engagement_drop": "Engagement drop",
    "new_high_value": "New high-value customer",
    "large_mrr_change": "Large MRR change",
    "source_sync": "Source sync problem",
}
SEVERITY_ICONS = {"critical": ":rotating_light:", "high": ":warning:", "medium": ":eyes:", "info": ":tada:"}
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "info": 3}
GROUP_LIST_LIMIT = 20
SECTION_LIMIT = 2900  # Slack allows 3000 characters in a section's text


@dataclass(frozen=True)
class Message:
    """One Slack message and the alerts (dedupe key, customer) it carries."""

    rule: str
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    alerts: tuple[tuple[str, str | None], ...]

    @property
    def message_key(self) -> str:
        """Stable id of the message: its dedupe key, or a hash of the keys of a grouped message."""
        keys = sorted(key for key, _ in self.alerts)
        if len(keys) == 1:
            return keys[0]
        digest = hashlib.sha1("\n".join(keys).encode()).hexdigest()[:16]
        return f"{self.rule}|group-of-{len(keys)}|{digest}"

    def payload(self) -> dict[str, Any]:
        return {"channel": self.channel, "text": self.text, "blocks": self.blocks}


def money(value: Any) -> str:
    if value is None:
        return "-"
    return f"${Decimal(str(value)):,.2f}"


def status_text(status: str | None) -> str:
    return (status or "unknown").replace("_", " ")


def health_text(row: Row) -> str:
    if row.get("health_score") is None:
        return "-"
    return f"{row['health_score']} ({status_text(row.get('health_status'))})"


def change_text(row: Row) -> str:
    if row.get("previous_health_score") is None:
        return "no earlier snapshot"
    change = row.get("health_change") or 0
    return (
        f"{change:+d} (from {row['previous_health_score']} {status_text(row.get('previous_health_status'))})"
    )


def owner_text(row: Row) -> str:
    if row.get("owner_slack_user_id"):
        return f"<@{row['owner_slack_user_id']}>"
    return row.get("owner_email") or "unassigned"


def subject_text(row: Row) -> str:
    if row.get("source_name"):
        return f"source {row['source_name']}"
    name = row.get("name") or row.get("email_key") or ""
    return f"{name} <{row['email']}>" if row.get("email") else name


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text)}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": True}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(text)]}


def alert_fields(row: Row) -> list[dict[str, Any]]:
    if row.get("source_name"):
        return [mrkdwn(f"*Source*\n{row['source_name']}"), mrkdwn(f"*Severity*\n{row['severity']}")]
    return [
        mrkdwn(f"*MRR at risk*\n{money(row.get('mrr_at_risk'))}"),
        mrkdwn(f"*MRR*\n{money(row.get('mrr'))}"),
        mrkdwn(f"*Health*\n{health_text(row)}"),
        mrkdwn(f"*Change*\n{change_text(row)}"),
        mrkdwn(f"*Owner*\n{owner_text(row)}"),
        mrkdwn(f"*Severity*\n{row['severity']}"),
    ]


def alert_message(row: Row, channel: str) -> Message:
    """One alert: what happened, to whom, how much MRR, health and its change, owner, what to do."""
    title = RULE_TITLES.get(row["alert_rule"], row["alert_rule"])
    icon = SEVERITY_ICONS.get(row["severity"], "")
    subject = subject_text(row)
    blocks = [
        header(f"{title}: {row.get('name') or row.get('source_name') or row.get('email_key')}"),
        section(f"{icon} *{subject}*: {row['detail']}"),
        {"type": "section", "fields": alert_fields(row)},
        section(f"*Recommended action:* {row['recommended_action']}"),
        context(f"{row['alert_rule']} · as of {row['as_of_date']} · key `{row['dedupe_key']}`"),
    ]
    text = f"{icon} {title}: {subject}"
    if not row.get("source_name"):
        text += f" · MRR at risk {money(row.get('mrr_at_risk'))}"
    return Message(row["alert_rule"], channel, text, blocks, ((row["dedupe_key"], row.get("email_key")),))


def group_line(row: Row) -> str:
    owner = f" · {owner_text(row)}" if row.get("owner_slack_user_id") or row.get("owner_email") else ""
    if row.get("source_name"):
        return f"• {subject_text(row)}: {row['detail']}"
    at_risk = money(row.get("mrr_at_risk"))
    return f"• {subject_text(row)} · {at_risk} at risk · health {health_text(row)}{owner} · {row['detail']}"


def bounded_list(lines: Sequence[str], limit: int = GROUP_LIST_LIMIT) -> str:
    """The lines that fit one section, with '... and N more' for the rest."""
    shown: list[str] = []
    for line in lines[:limit]:
        if sum(len(item) + 1 for item in shown) + len(line) > SECTION_LIMIT - 40:
            break
        shown.append(line)
    rest = len(lines) - len(shown)
    return "\n".join(shown + ([f"... and {rest} more"] if rest else []))


def grouped_message(rule: str, rows: Sequence[Row], channel: str) -> Message:
    """One message for many alerts of one rule: totals, then the customers by MRR at risk."""
    title = RULE_TITLES.get(rule, rule)
    icon = SEVERITY_ICONS.get(rows[0]["severity"], "")
    at_risk = sum(Decimal(str(row.get("mrr_at_risk") or 0)) for row in rows)
    ordered = sorted(rows, key=lambda row: (-Decimal(str(row.get("mrr_at_risk") or 0)), row["dedupe_key"]))
    actions = sorted({row["recommended_action"] for row in rows})
    blocks = [
        header(f"{title}: {len(rows)} {'sources' if rule == 'source_sync' else 'customers'}"),
        section(f"{icon} *{len(rows)} new {title.lower()} alerts* · MRR at risk *{money(at_risk)}*"),
        section(bounded_list([group_line(row) for row in ordered])),
        section(f"*Recommended action:* {'; '.join(actions)}"),
        context(f"{rule} · as of {rows[0]['as_of_date']} · one message for {len(rows)} alerts of this rule"),
    ]
    text = f"{icon} {title}: {len(rows)} alerts · MRR at risk {money(at_risk)}"
    return Message(
        rule, channel, text, blocks, tuple((row["dedupe_key"], row.get("email_key")) for row in rows)
    )


def alert_order(row: Row) -> tuple[int, Decimal, str]:
    return (
        SEVERITY_ORDER.get(row["severity"], 9),
        -Decimal(str(row.get("mrr_at_risk") or 0)),
        row["dedupe_key"],
    )


def plan_messages(
    rows: Sequence[Row], channel_for: Callable[[str], str], group_threshold: int
) -> list[Message]:
    """Messages for new alert rows, most severe and most MRR at risk first: one per alert, or one per rule
    when the rule fired more than ``group_threshold`` times."""
    by_rule: dict[str, list[Row]] = {}
    for row in sorted(rows, key=alert_order):
        by_rule.setdefault(row["alert_rule"], []).append(row)
    messages = []
    for rule, rule_rows in by_rule.items():
        if len(rule_rows) > group_threshold:
            messages.append(grouped_message(rule, rule_rows, channel_for(rule)))
        else:
            messages.extend(alert_message(row, channel_for(rule)) for row in rule_rows)
    return messages


def count_change(now: int, before: int | None) -> str:
    return "" if before is None else f" ({now - before:+,})"


def money_change(now: Any, before: Any) -> str:
    if before is None:
        return ""
    delta = Decimal(str(now)) - Decimal(str(before))
    return f" ({'+' if delta >= 0 else '-'}{money(abs(delta))})"


def unconverted_text(facts: dict[str, Any]) -> str:
    """MRR left out of the total for want of an exchange rate, per currency (never added to it)."""
    return f"\nnot in the total (no rate): {facts['unconverted_mrr']}" if facts.get("unconverted_mrr") else ""


def digest_message(facts: dict[str, Any], channel: str, dedupe_key: str) -> Message:
    """The daily / weekly digest: totals, MRR and change, health distribution and change, new at-risk
    customers with their MRR, the top recommended actions."""
    period = facts["period"]
    compared = facts["compared_with"]
    versus = f"vs {compared}" if compared else "no earlier snapshot to compare with"
    health_lines = [
        f"• {status_text(status)}: {cell['count']:,}{count_change(cell['count'], cell['previous_count'])}"
        for status, cell in facts["health"].items()
    ]
    new_lines = [
        f"• {subject_text(row)} · {money(row['mrr'])} · health {health_text(row)}"
        for row in facts["new_at_risk"]
    ]
    action_lines = [
        f"• {row['recommended_action']} · {row['customers']:,} customers · {money(row['mrr'])} MRR"
        for row in facts["top_actions"]
    ]
    mrr_change = money_change(facts["total_mrr"], facts["previous_total_mrr"])
    new_at_risk = (
        f"*New at-risk customers*: {facts['new_at_risk_count']:,} · {money(facts['new_at_risk_mrr'])} MRR"
    )
    blocks = [
        header(f"{period.title()} customer health digest · {facts['as_of_date']}"),
        {
            "type": "section",
            "fields": [
                mrkdwn(f"*Customers*\n{facts['total_customers']:,} ({facts['paying_customers']:,} paying)"),
                mrkdwn(f"*MRR*\n{money(facts['total_mrr'])}{mrr_change}{unconverted_text(facts)}"),
                mrkdwn(f"*ARR*\n{money(facts['total_arr'])}"),
                mrkdwn(f"*Average health*\n{facts['avg_health_score']}"),
            ],
        },
        section("*Health distribution* (" + versus + ")\n" + "\n".join(health_lines)),
        section(new_at_risk + "\n" + (bounded_list(new_lines, 10) if new_lines else "none")),
        section("*Top recommended actions*\n" + ("\n".join(action_lines) if action_lines else "none")),
        context(f"{period} digest · as of {facts['as_of_date']} · {versus}"),
    ]
    text = (
        f"{period.title()} digest {facts['as_of_date']}: {facts['total_customers']:,} customers, "
        f"MRR {money(facts['total_mrr'])}, {facts['new_at_risk_count']:,} new at risk"
    )
    return Message(f"digest_{period}", channel, text, blocks, ((dedupe_key, None),))


def block_text(block: dict[str, Any]) -> list[str]:
    """A block as the lines a person reads."""
    if block["type"] == "header":
        return [block["text"]["text"].upper()]
    if block["type"] == "context":
        return ["  " + " ".join(element["text"] for element in block["elements"])]
    lines = block["text"]["text"].splitlines() if "text" in block else []
    for item in block.get("fields", []):
        label, _, value = item["text"].partition("\n")
        lines.append(f"{label.strip('*')}: {value}")
    return lines


def render_text(message: Message) -> str:
    """The message as plain text, channel first (what --dry-run prints)."""
    lines = [message.channel]
    for block in message.blocks:
        lines.extend(block_text(block))
    return "\n".join(lines) + "\n"
