// The tables of migrations/, by hand (one portable set; see DESIGN.md).

diesel::table! {
    delegations (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        kind -> Text,
        time_zone -> Text,
        working_hours -> Text,
        contact_email -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        delegation_id -> Nullable<Text>,
        active -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        secret -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        occurred_at -> Timestamp,
        actor_user_id -> Nullable<Text>,
        actor_delegation_id -> Nullable<Text>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        summary -> Text,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    audit_parties (audit_id, delegation_id) {
        audit_id -> Text,
        delegation_id -> Text,
    }
}

diesel::joinable!(users -> delegations (delegation_id));
diesel::joinable!(audit_parties -> audit_log (audit_id));
diesel::allow_tables_to_appear_in_same_query!(
    delegations,
    users,
    signing_keys,
    audit_log,
    audit_parties,
    login_failures
);

diesel::table! {
    login_failures (id) {
        id -> Text,
        subject -> Text,
        failed_at -> Timestamp,
    }
}
