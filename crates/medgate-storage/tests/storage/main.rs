//! The storage test suite. Every metadata test runs twice, on SQLite and on PostgreSQL, each
//! time on a fresh database of its own; content store tests run on a folder and on a local S3
//! server (moto).

// A test that meets an unexpected value fails by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod support;

mod audit;
mod certificate_requests;
mod certificates;
mod claims;
mod claims_corrections;
mod clinical;
mod clinical_connection;
mod consents;
mod content;
mod document_types;
mod documents;
mod organisation;
mod plans;
mod registry;
mod replay_guard;
mod revocations;
mod sqlite_settings;
mod staff;
mod tenants;

on_both_backends! {
    claims {
        organisations_insurers_and_periods,
        a_link_opens_once_and_a_renewed_one_again,
        packages_are_concluded_once_and_a_second_accepted_copy_is_refused,
        mek_findings_and_paid_cases_are_kept_exactly,
        registers_take_a_package_once_and_move_from_the_state_read,
        mo_system_certificates_are_recorded_listed_and_revoked_once,
    }
    claims_corrections {
        a_package_with_flk_errors_is_corrected_once_into_a_linked_new_package,
    }
    clinical_connection {
        a_connection_is_saved_whole_replaced_and_per_account,
        a_desk_session_lives_with_its_web_session_until_it_expires,
    }
    clinical {
        institutions_units_practitioners_and_the_matrix,
        a_totp_step_is_used_once_and_sessions_end,
        versions_are_atomic_and_a_stale_writer_is_refused,
        a_referral_is_consumed_once,
        restrictions_and_the_access_log_are_the_patients,
        clinical_lists_use_their_indexes,
    }
    certificate_requests {
        self_service_is_switched_per_account,
        requests_wait_one_per_kind_and_are_decided_once,
    }
    staff {
        logins_are_unique_per_tenant_and_among_operators,
        activation_codes_work_once_and_expire,
        disabling_and_resets_end_the_accounts_sessions,
    }
    tenants {
        create_get_list_and_refuse_duplicate,
        status_plan_activation_and_national_repository_id,
        activation_refuses_a_domain_id_taken_by_another_tenant,
        concurrent_arc_allocations_never_repeat,
        connecting_again_keeps_the_data,
    }
    certificates {
        registration_replaces_the_active_certificate_of_the_same_kind,
        duplicate_fingerprint_refuses_the_whole_set,
        registration_for_unknown_tenant_is_refused,
    }
    documents {
        insert_and_get_round_trip,
        a_number_under_two_roots_is_found_once,
        effective_time_as_written_round_trips,
        duplicate_document_id_is_refused_but_a_new_version_is_accepted,
        search_by_patient_and_dates_is_paged_newest_first,
        search_by_type_author_and_title_ignores_case,
        tenant_cannot_get_or_find_another_tenants_document,
        quota_refusal_stores_nothing,
        file_limit_refusal_stores_nothing,
        concurrent_inserts_cannot_exceed_the_quota,
        delete_returns_the_content_key_and_frees_the_quota,
        mark_indexed_records_the_time,
        concurrent_writes_share_commits_and_a_refusal_stays_alone,
    }
    audit {
        appended_entries_form_a_verifiable_chain,
        tampered_target_is_reported_with_its_seq,
        deleted_entry_is_reported_with_its_seq,
        deleted_last_entry_is_reported,
        swapped_entries_are_reported,
        concurrent_appends_keep_one_valid_chain,
        list_is_per_tenant_and_newest_first,
        patient_entries_verify_and_list_by_patient,
        setting_or_clearing_the_patient_is_detected,
        rows_past_the_head_are_foreign_and_appends_go_on,
        foreign_rows_before_damage_are_listed_and_damage_is_named,
        an_anchor_catches_a_truncated_tail_with_a_rewritten_head,
        an_anchor_on_a_foreign_row_is_a_mismatch,
        a_row_at_the_largest_seq_does_not_stop_appends,
    }
    consents {
        drafts_and_revoked_consents_share_nothing,
        only_the_dates_of_a_consent_show_its_documents,
        documents_must_exist_and_be_the_patients,
        tenants_and_patients_see_only_their_own,
        activation_codes_work_once,
        sessions_end_when_idle_or_expired_or_deleted,
        five_failures_lock_an_identity_whether_or_not_it_exists,
        concurrent_attempts_get_exactly_five_checks,
    }
    revocations {
        revocations_change_the_generation_and_are_recorded_once,
        nodes_report_what_they_applied,
    }
    replay_guard {
        second_use_within_the_window_is_refused,
        expired_signatures_can_be_purged_and_reused,
    }
    document_types {
        defaults_come_from_the_seed,
        override_and_reset,
        unknown_code_is_refused,
    }
    organisation {
        structure_is_stored_with_increasing_revisions,
    }
    plans {
        search_by_patient_is_driven_by_the_patients_identifier_rows,
        archive_filters_use_their_indexes,
        patient_and_account_lists_use_their_indexes,
    }
    registry {
        registering_again_keeps_the_national_id,
        entries_are_found_by_patient_across_repositories,
        an_entry_belongs_to_the_repository_that_indexed_it,
        deregistering_withdraws_the_repositorys_entries,
        national_credentials_are_saved_replaced_and_removed_with_the_id,
    }
}
