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
        share_busy -> Bool,
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
        token_generation -> BigInt,
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
        details -> Nullable<Text>,
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

diesel::table! {
    login_failures (id) {
        id -> Text,
        subject -> Text,
        failed_at -> Timestamp,
    }
}

diesel::table! {
    meetings (id) {
        id -> Text,
        host_delegation_id -> Text,
        title -> Text,
        description -> Nullable<Text>,
        location -> Nullable<Text>,
        time_zone -> Text,
        start_local -> Timestamp,
        end_local -> Timestamp,
        disambiguation -> Nullable<Text>,
        start_utc -> Timestamp,
        end_utc -> Timestamp,
        recurrence -> Nullable<Text>,
        span_start_utc -> Timestamp,
        span_end_utc -> Timestamp,
        status -> Text,
        confidentiality -> Text,
        channel_id -> Nullable<Text>,
        forum_id -> Nullable<Text>,
        sequence -> BigInt,
        version -> BigInt,
        tzdb_version -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        agreement_rule -> Text,
        confirmation_forced -> Bool,
    }
}

diesel::table! {
    meeting_participants (meeting_id, delegation_id) {
        meeting_id -> Text,
        delegation_id -> Text,
        role -> Text,
        response -> Text,
        comment -> Nullable<Text>,
        responded_at -> Nullable<Timestamp>,
        span_start_utc -> Timestamp,
        span_end_utc -> Timestamp,
        series -> Bool,
    }
}

diesel::table! {
    meeting_overrides (meeting_id, original_start_utc) {
        meeting_id -> Text,
        original_start_utc -> Timestamp,
        start_local -> Nullable<Timestamp>,
        end_local -> Nullable<Timestamp>,
        start_utc -> Nullable<Timestamp>,
        end_utc -> Nullable<Timestamp>,
        status -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        original_start_local -> Nullable<Timestamp>,
        disambiguation -> Nullable<Text>,
        location -> Nullable<Text>,
        time_zone -> Nullable<Text>,
    }
}

diesel::table! {
    feeds (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        scope -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (user_id, idempotency_key) {
        user_id -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        body -> Text,
        created_at -> Timestamp,
        outcome -> Text,
    }
}

diesel::table! {
    channels (id) {
        id -> Text,
        proposer_id -> Text,
        counterpart_id -> Text,
        kind -> Text,
        name -> Text,
        purpose -> Nullable<Text>,
        status -> Text,
        reactivation_requested_by -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    channel_history (channel_id, position) {
        channel_id -> Text,
        position -> BigInt,
        event -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason -> Nullable<Text>,
        user_id -> Text,
        username -> Text,
        delegation_id -> Text,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    forums (id) {
        id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    forum_members (forum_id, delegation_id) {
        forum_id -> Text,
        delegation_id -> Text,
        joined_at -> Timestamp,
    }
}

diesel::table! {
    occurrence_answers (meeting_id, original_start_utc, delegation_id) {
        meeting_id -> Text,
        original_start_utc -> Timestamp,
        original_start_local -> Timestamp,
        delegation_id -> Text,
        response -> Text,
        comment -> Nullable<Text>,
        responded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    proposals (id) {
        id -> Text,
        meeting_id -> Text,
        proposer_delegation_id -> Text,
        proposer_user_id -> Text,
        recurrence_id -> Nullable<Timestamp>,
        start_local -> Nullable<Timestamp>,
        end_local -> Nullable<Timestamp>,
        time_zone -> Nullable<Text>,
        location -> Nullable<Text>,
        comment -> Text,
        status -> Text,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(meeting_participants -> meetings (meeting_id));
diesel::joinable!(feeds -> users (user_id));

diesel::table! {
    feed_stamps (scope) {
        scope -> Text,
        stamp -> BigInt,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    observances (delegation_id, position) {
        delegation_id -> Text,
        position -> Integer,
        name -> Text,
        day -> Nullable<Text>,
        rule -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    delegations,
    users,
    signing_keys,
    audit_log,
    audit_parties,
    login_failures,
    meetings,
    meeting_participants,
    meeting_overrides,
    idempotency_keys,
    feeds,
    channels,
    channel_history,
    forums,
    forum_members,
    feed_stamps,
    occurrence_answers,
    proposals,
    observances
);
