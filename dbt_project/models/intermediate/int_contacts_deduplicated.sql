-- Every Intercom contact with a valid email created by the end of T's day (a contact without created_at counts
-- as known), mapped to its email_key. last_seen_at is today's value only (Intercom keeps no history): when it
-- is after the end of T's day the contact was seen since, and a past build takes it as seen at T (00:00 UTC),
-- so days_since_seen is 0, never negative, and no later date shows. Several contacts with one email_key: the
-- most recently updated is the primary contact (the field-mapping specification), whose profile and Stripe
-- data the customer gets; the others stay here so their conversations still count for the customer.

with

contacts as (

    select * from {{ ref('stg_intercom__contacts') }}
    where is_valid_email and {{ known_by_end_of_as_of('created_at') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by email_key
            order by updated_at desc nulls last, created_at desc nulls last, contact_id desc
        ) as recency_rank,
        count(*) over (partition by email_key) as contacts_with_email_key

    from contacts

),

final as (

    select
        contact_id,
        email_key,
        trim(email) as email,
        contact_name,
        contact_role,
        created_at,
        updated_at,
        case
            when {{ before_end_of_as_of('last_seen_at') }} then last_seen_at
            when last_seen_at is not null then {{ as_of_timestamp() }}
        end as last_seen_at,
        location_country,
        location_city,
        stripe_customer_id,
        stripe_plan,
        stripe_plan_price_cents,
        stripe_subscription_status,
        is_stripe_delinquent,
        stripe_last_charge_amount_cents,
        stripe_last_charge_at,
        loaded_at,
        recency_rank = 1 as is_primary_contact,
        contacts_with_email_key

    from ranked

)

select * from final
