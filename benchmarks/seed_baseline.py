"""The seed documents' design, written only to be measured against: per-record requests, metrics computed
in Python, one upsert per customer. Not part of the product.

The seed's Intercom sync pages through the contacts, then asks Intercom about each contact's conversations
and reads their bodies for cancel mentions; it computes MRR, LTV, support counts and the health score in
Python and upserts one row per customer. The sandbox (like Intercom) cannot filter the conversation search
by contact, so the per-record requests here are one `GET /conversations/{id}` per conversation (the body
the seed reads), after one paged listing of contacts and conversations. Usage:

    python benchmarks/seed_baseline.py --base-url http://127.0.0.1:8765/intercom --token T --db /tmp/s.duckdb
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone
from typing import Any

import duckdb
import requests

CANCEL_WORDS = ("cancel", "cancellation", "cancelling", "churn", "leaving", "switching", "not renewing")
MONTHLY = {"day": 30.0, "week": 52.0 / 12, "month": 1.0, "year": 1.0 / 12}


def search(
    session: requests.Session, url: str, key: str, body: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every record of an Intercom search, page after page (``body``: the seed's, unless given)."""
    body = body or {
        "query": {"field": "updated_at", "operator": ">", "value": 0},
        "pagination": {"per_page": 150},
    }
    records: list[dict[str, Any]] = []
    while True:
        page = session.post(url, json=body, timeout=60)
        page.raise_for_status()
        payload = page.json()
        records += payload[key]
        after = (payload.get("pages") or {}).get("next", {}).get("starting_after")
        if not after:
            return records
        body["pagination"]["starting_after"] = after


def number(value: Any) -> float:
    """The sandbox serves messy records (timestamps as strings, nulls): count those as 0, as a guard would."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def metrics(contact: dict[str, Any], conversations: list[dict[str, Any]], now: float) -> dict[str, Any]:
    attributes = contact.get("custom_attributes") or {}
    mrr = 0.0
    for subscription in attributes.get("Stripe Subscriptions") or []:
        plan = subscription.get("plan") or {}
        if subscription.get("status") in ("active", "past_due"):
            factor = MONTHLY.get(plan.get("interval"), 1.0) / (number(plan.get("interval_count")) or 1)
            mrr += number(plan.get("amount")) * (number(subscription.get("quantity")) or 1) * factor / 100
    ltv = sum(
        number(p.get("amount")) / 100
        for p in attributes.get("Stripe Payments") or []
        if p.get("status") == "succeeded"
    )
    recent = [c for c in conversations if number(c.get("created_at")) >= now - 30 * 86_400]
    mentioned_cancel = any(
        word in ((c.get("source") or {}).get("body") or "").lower() for c in recent for word in CANCEL_WORDS
    )
    seen_days = (now - number(contact.get("last_seen_at"))) / 86_400
    recency = 100 if seen_days <= 7 else 75 if seen_days <= 14 else 50 if seen_days <= 30 else 0
    payment = 25 if attributes.get("stripe_delinquent") else 100
    ratings = [number((c.get("conversation_rating") or {}).get("rating")) for c in conversations]
    ratings = [rating for rating in ratings if rating]
    sentiment = sum(ratings) / len(ratings) * 20 if ratings else 50
    health = 0.25 * recency + 0.2 * sentiment + 0.2 * payment + 0.35 * 50
    health -= 30 if mentioned_cancel else 0
    return {
        "email": str(contact.get("email") or "").strip().lower(),
        "mrr": round(mrr, 2),
        "ltv": round(ltv, 2),
        "conversations": len(conversations),
        "conversations_30d": len(recent),
        "open_tickets": sum(1 for c in conversations if c.get("open")),
        "mentioned_cancel": mentioned_cancel,
        "health_score": max(0, min(100, round(health))),
    }


def run(base_url: str, token: str, db: str) -> dict[str, float]:
    started, cpu_started = time.perf_counter(), time.process_time()
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Intercom-Version": "2.11"})
    contacts = search(session, f"{base_url}/contacts/search", "data")
    listed = search(session, f"{base_url}/conversations/search", "conversations")
    requests_made = -(-len(contacts) // 150) + -(-len(listed) // 150)
    by_contact: dict[str, list[dict[str, Any]]] = {}
    for item in listed:  # one request per conversation: its body, as the seed reads it
        detail = session.get(f"{base_url}/conversations/{item['id']}", timeout=60)
        requests_made += 1
        detail.raise_for_status()
        conversation = detail.json()
        for person in (conversation.get("contacts") or {}).get("contacts") or []:
            by_contact.setdefault(person.get("id"), []).append(conversation)
    now = datetime.now(timezone.utc).timestamp()
    with duckdb.connect(db) as connection:
        connection.execute(
            "create table if not exists customers (email varchar primary key, mrr decimal(18, 2), "
            "ltv decimal(18, 2), conversations integer, conversations_30d integer, open_tickets integer, "
            "mentioned_cancel boolean, health_score integer)"
        )
        for contact in contacts:  # one upsert per customer
            row = metrics(contact, by_contact.get(contact.get("id"), []), now)
            if not row["email"]:
                continue
            connection.execute(
                "insert or replace into customers values (?, ?, ?, ?, ?, ?, ?, ?)", list(row.values())
            )
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
        "requests": requests_made,
        "contacts": len(contacts),
        "conversations": len(listed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", required=True, help="Intercom base URL (the sandbox's /intercom)")
    parser.add_argument("--token", required=True)
    parser.add_argument("--db", required=True, help="DuckDB file to write")
    args = parser.parse_args()
    result = run(args.base_url, args.token, args.db)
    print(
        f"seed-style baseline: {result['contacts']:,} contacts, {result['conversations']:,} conversations, "
        f"{result['requests']:,} requests, {result['seconds']:.1f} s ({result['cpu_seconds']:.1f} CPU s)"
    )


if __name__ == "__main__":
    main()
