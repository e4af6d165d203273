-- Every Intercom contact with a valid email, mapped to its email_key. Several contacts with one email_key:
-- the most recently updated is the primary contact (the field-mapping specification), whose profile and Stripe data the customer
-- gets; the others stay here so their conversations still count for the customer.

with

contacts as (

    select * from {{ ref('stg_intercom__contacts') }}
    where is_valid_email

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
        last_seen_at,
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
