//! # Guarantees
//!
//! What steadfast promises when things go wrong around a call, and the test
//! that holds it to each promise (in this repository's `tests/` and
//! `runtime/src/`).
//!
//! ## Cancellation (the caller drops the future)
//!
//! - A retried call stops at once: no further attempt, no sleep left running
//!   (`tests/retry.rs`: `dropping_the_call_mid_sleep_stops_it_at_once`,
//!   `dropping_the_call_mid_attempt_drops_the_attempt_and_stops`).
//! - A circuit breaker records nothing for a dropped call, and a dropped
//!   half-open probe gives its slot back (`tests/circuit_breaker.rs`:
//!   `a_dropped_call_records_nothing`, `a_dropped_probe_gives_its_slot_back`).
//! - A bulkhead slot is released, and a dropped waiter leaves the line; a slot
//!   handed to a waiter that is dropped before it wakes is passed on
//!   (`tests/bulkhead.rs`: `slot_is_released_on_cancellation`,
//!   `a_cancelled_waiter_gives_its_place_and_slot_away`; the reference model
//!   `bulkhead_matches_the_reference_model`).
//!
//! ## Panics
//!
//! - A panic in the body is never retried and never handled by `#[fallback]`:
//!   it propagates unchanged (`tests/retry.rs`:
//!   `a_panic_is_not_retried_and_propagates`; `tests/fallback.rs`:
//!   `the_handler_does_not_run_on_a_panic_which_propagates`).
//! - A circuit breaker counts it as a failure (a panicking probe reopens), and
//!   a bulkhead releases the slot while unwinding (`tests/circuit_breaker.rs`:
//!   `a_panic_counts_as_a_failure_and_propagates`, `a_panicking_probe_reopens`;
//!   `tests/bulkhead.rs`: `slot_is_released_on_panic`).
//! - That holds however the future is polled: a panic caught by
//!   `catch_unwind` around the breaker's own future is recorded where it
//!   unwinds through the breaker (a guard in its `poll`), not when the future
//!   is dropped later (`runtime/src/circuit_breaker/tests/panic.rs`:
//!   `a_caught_panic_counts_as_a_failure_while_closed`,
//!   `a_caught_panic_in_a_probe_reopens`,
//!   `a_future_dropped_after_a_caught_panic_records_it_once`;
//!   `tests/caught_panic.rs`).
//!
//! ## Overload
//!
//! - A bulkhead never runs more than `max_concurrent` calls, however many
//!   arrive (`max_concurrent_caps_200_concurrent_callers`), serves waiters in
//!   order (`max_queue_waiters_are_served_in_fifo_order`), rejects at once when
//!   the queue is full, and a waiter that gave up never takes a slot later
//!   (`max_wait_gives_up_after_exactly_that_long`).
//! - A half-open circuit breaker admits exactly `half_open_probes` calls, even
//!   when many arrive together on several threads
//!   (`half_open_admits_exactly_n_of_50_callers_across_threads`;
//!   `runtime/src/circuit_breaker`: `concurrent_callers_get_exactly_n_probes`).
//! - Rejections are never retried except timeouts: an open circuit or a full
//!   bulkhead ends an outer `#[retry]` at once
//!   (`retry_above_does_not_retry_circuit_open`).
//! - Both admission protocols are model-checked with `loom`, which explores
//!   the interleavings of the very functions that run in production
//!   (`runtime/src/circuit_breaker/tests/loom.rs`, `runtime/src/bulkhead/loom.rs`):
//!   `loom_half_open_admits_exactly_n_probes`,
//!   `loom_dropped_probes_give_their_slots_back`,
//!   `loom_probe_failure_racing_a_success_always_reopens`,
//!   `loom_stale_probe_result_never_moves_the_new_state`,
//!   `loom_operator_reset_outranks_a_racing_probe_failure`,
//!   `loom_reopened_breaker_rejects_until_open_for_passes`,
//!   `loom_bulkhead_never_runs_more_than_max_concurrent`,
//!   `loom_slot_released_while_joining_the_queue_is_never_lost`,
//!   `loom_waiter_that_gives_up_never_keeps_a_slot`,
//!   `loom_slot_passed_on_by_a_waiter_that_gives_up_reaches_the_next`,
//!   `loom_waiter_leaving_the_middle_of_the_line_keeps_the_rest_in_order`,
//!   `loom_waiters_leaving_newest_first_as_the_slot_moves`,
//!   `loom_head_of_the_line_leaving_as_it_is_served_passes_the_slot_on`; and
//!   both state machines are checked step by step against sequential
//!   reference models with proptest (`breaker_matches_the_reference_model`,
//!   `bulkhead_matches_the_reference_model`).
//! - Leaving a bulkhead's queue (a waiter dropped or out of `max_wait`) costs
//!   O(1) wherever the waiter stands, so a crowd giving up is not quadratic
//!   (`waiters_leave_the_line_in_constant_work_wherever_they_stand` counts the
//!   entries touched; `benches/bulkhead_queue.rs` times it).
//!
//! ## Rate limits
//!
//! - In any interval of length t a limiter admits at most `burst + floor(rate
//!   × t / per)` calls, and refuses only calls that would break that bound,
//!   also when `per / rate` is not a whole number of nanoseconds
//!   (`tests/rate_limit.rs`: `admissions_never_exceed_the_bound_in_any_interval`;
//!   `runtime/src/rate_limit/tests.rs`:
//!   `admissions_keep_the_bound_in_every_window_and_refuse_only_what_breaks_it`,
//!   `a_rate_that_does_not_divide_per_is_counted_exactly`); a new limiter
//!   starts full and a quiet period refills only the burst
//!   (`a_full_burst_passes_after_a_quiet_period_and_never_more`).
//! - `retry_after` is exactly the time to the next free turn, waiters' turns
//!   included (`retry_after_is_exactly_the_time_to_the_next_turn`); waiting
//!   calls are admitted in arrival order, each at its turn, and a call whose
//!   turn is beyond `max_wait` fails at once
//!   (`waiting_calls_are_admitted_in_arrival_order_each_at_its_turn`).
//! - A dropped waiter never runs, and gives its turn back only when it was
//!   the last one reserved
//!   (`a_dropped_waiter_does_not_run_and_gives_its_turn_back_only_when_last`).
//! - `RateLimited` is never retried by an outer `#[retry]` and counts as
//!   neither success nor failure for an outer breaker
//!   (`an_outer_retry_never_retries_a_rate_limited_call`,
//!   `an_outer_breaker_counts_a_rate_limited_call_as_neither`); a wait counts
//!   toward an outer timeout (`waiting_for_a_turn_counts_toward_an_outer_timeout`).
//! - The admission word is model-checked with loom
//!   (`loom_rate_limit_callers_and_the_clock_race_without_breaking_the_bound`,
//!   `loom_rate_limit_waiters_and_give_backs`) and checked against a token
//!   bucket in exact arithmetic with proptest
//!   (`the_word_is_a_token_bucket_and_keeps_the_bound`).
//!
//! ## Retry budgets
//!
//! - Every retry drawn from a [`RetryBudget`](crate::RetryBudget) at `t`
//!   keeps the retries of `(t − window, t]`, itself included, within `ratio ×`
//!   the first attempts of that window `+ min_per_sec × window`; the budget
//!   may be stricter than that exact window by the documented approximation
//!   (a bucket at each edge; first attempts dated early, at most 64 per
//!   bucket of the window in which the budget did not look at the clock), never
//!   looser (`runtime/src/retry/budget/model.rs`:
//!   `every_draw_keeps_the_bound_and_the_documented_approximation`, against a
//!   log of timestamped events). In a storm of 200 callers through a 20 s
//!   outage, the bound holds at every retry and the amplification (attempts
//!   per call) falls from 2.34 to 1.19 (`tests/retry_budget.rs`:
//!   `a_budget_caps_the_retry_storm_of_an_outage`).
//! - A call's first attempt is counted before its own retries draw; errors
//!   not retried draw nothing; a spent budget ends the call at once with its
//!   last error, without sleeping the delay; the window slides, refilling
//!   the budget (`runtime/src/retry/budget/tests.rs`:
//!   `a_calls_own_first_attempt_is_counted_before_its_retries_draw`,
//!   `errors_that_are_not_retried_draw_nothing`,
//!   `a_spent_budget_returns_the_last_error_at_once`,
//!   `the_window_slides_spent_retries_leave_and_refill_it`,
//!   `min_per_sec_is_a_floor_without_any_first_attempt`).
//! - Concurrent callers never share the last retry of an allowance, and the
//!   move to a new bucket loses no count and dates none later than it
//!   happened (loom: `loom_concurrent_draws_take_exactly_the_allowance`,
//!   `loom_moves_racing_draws_lose_no_count`,
//!   `loom_first_attempts_racing_a_move_are_never_dated_later`).
//! - A budgeted call allocates nothing, on success and when it retries
//!   (`tests/alloc.rs`: `retry_with_a_budget_does_not_allocate_on_success`,
//!   `retry_with_a_budget_does_not_allocate_when_it_retries`).
//!
//! ## Hedged calls
//!
//! - If no copy has succeeded after `after`, another copy starts, one every
//!   `after`, `max` extra at most; the first `Ok` wins and every other copy
//!   is dropped before the call returns (drop guards: `tests/hedge.rs`:
//!   `the_first_ok_wins_and_the_loser_is_dropped_at_once`,
//!   `copies_start_every_after_up_to_max`; `runtime/src/hedge/tests.rs`:
//!   `copies_start_one_every_after_up_to_max`, at 0, 50, 100 and 150 ms).
//! - An `Err` waits for the copies still running; an `Err` while none runs
//!   ends the call without starting a copy early (a hedge is not a retry);
//!   when all fail, the copy that failed last gives the error
//!   (`an_error_waits_for_a_running_copy`,
//!   `an_error_with_no_other_copy_running_ends_the_call`,
//!   `when_all_fail_the_copy_that_failed_last_returns_its_error`).
//! - A first copy ready on its first poll arms no timer and reads no clock:
//!   it completes outside any tokio runtime, where creating a timer panics,
//!   and the converse test shows a pending one does create it
//!   (`runtime/src/hedge/tests.rs`: `a_ready_first_copy_arms_no_timer`,
//!   `a_pending_first_copy_arms_the_timer`).
//! - No allocation per call, with the first copy ready at once, suspended,
//!   or losing to a second copy (`tests/alloc.rs`:
//!   `hedge_does_not_allocate_on_success`,
//!   `hedge_does_not_allocate_when_it_starts_a_second_copy`).
//! - Layers below run per copy: `#[hedge] #[bulkhead]` holds a slot per
//!   copy and gives them all back; `#[hedge] #[timeout]` bounds each copy
//!   (`layers_below_run_per_copy_a_bulkhead_slot_each`,
//!   `a_timeout_below_bounds_each_copy`); `#[retry]` above hedges each attempt
//!   (`stacking_in_written_order_retry_above_hedge_hedges_each_attempt`).
//! - Dropping the caller drops every copy
//!   (`dropping_the_caller_drops_every_copy`); once graceful shutdown has
//!   begun no new copy starts and the running ones finish
//!   (`tests/shutdown.rs`: `a_hedge_starts_no_new_copy_once_shutdown_has_begun`);
//!   with `budget`, extra copies stay within the budget's ratio
//!   (`a_spent_budget_starts_no_extra_copy`).
//! - On a backend where one answer in twenty takes 400–600 ms, hedging after
//!   25 ms takes the p99 from 564 ms to 37 ms for 6 % more requests, the p50
//!   unchanged at 10 ms (`tests/hedge_tail.rs`:
//!   `hedging_cuts_the_p99_for_a_few_percent_more_requests`, the demo
//!   `examples/hedge_tail.rs`).
//! - Misuse is a compile error: `max = 0` or above 8, `after = "0ms"` or
//!   missing, `&mut self`, a moved argument, a plain `fn`, an unknown key, a
//!   `budget` that is not a `RetryBudget` (`tests/ui/hedge-*.rs`).
//!
//! ## Plain functions
//!
//! - `#[retry]`, `#[circuit_breaker]`, `#[bulkhead]`, `#[rate_limit]` and
//!   `#[fallback]` work on a plain `fn` with the same keys, defaults and
//!   rules: attempts, `when`, hints and `max_hint`, `max_elapsed` on the
//!   `std` clock, a budget, `&mut self`, `?` and `return` ending an attempt
//!   (`tests/sync.rs`: `retry_returns_the_last_attempts_error`,
//!   `retry_stops_at_the_first_success`, `retry_when_refuses_an_error`,
//!   `retry_honours_hints_up_to_max_hint`,
//!   `retry_max_elapsed_is_measured_on_the_std_clock`,
//!   `retry_max_elapsed_ignores_a_paused_tokio_clock`,
//!   `retry_draws_from_a_budget`, `retry_on_a_method_taking_mut_self`,
//!   `retry_lets_a_panic_through`); a breaker that opens, fails fast and
//!   closes after a probe, a panic counted as a failure, `failure_if`, keyed
//!   state (`circuit_breaker_opens_fails_fast_and_closes_after_a_probe`,
//!   `circuit_breaker_counts_a_panic_as_a_failure`,
//!   `circuit_breaker_failure_if_judges_the_errors`,
//!   `a_keyed_breaker_keeps_one_state_per_key`); rejections keep their kind
//!   through the stack, written order included
//!   (`retry_does_not_retry_an_open_circuit`,
//!   `a_rejection_keeps_its_kind_through_the_stack`); generics, lifetimes,
//!   `impl Trait`, `self: Arc<Self>`, `Result` aliases and a body that calls
//!   `block_on` (`signatures_work_on_a_plain_fn`); default names and
//!   `health()` from startup (`a_plain_fns_policies_are_named_and_listed`);
//!   `#[tracing::instrument]` above (one span per call) or below (one per
//!   attempt), and a plain `#[test]` below the stack
//!   (`compat/tests/other_attributes.rs`:
//!   `sync_instrument_above_the_stack_spans_the_whole_call`,
//!   `sync_instrument_without_err_or_ret_above_the_stack`,
//!   `sync_instrument_below_the_stack_spans_each_attempt`,
//!   `a_plain_test_below_the_stack_is_retried`); strict lints
//!   (`tests/lints.rs`: `strict_lints_accept_the_expansions_of_plain_fns`).
//! - Waits block the thread with `std` primitives, parked (no busy loop):
//!   a bulkhead's waiters in FIFO order, given up after `max_wait` without
//!   running, the slot released on panic
//!   (`bulkhead_blocks_waiters_and_serves_them_in_order`,
//!   `bulkhead_refuses_when_full_and_gives_up_after_max_wait`,
//!   `bulkhead_releases_the_slot_on_panic`); a rate limiter's turn within
//!   `max_wait`, refused at once beyond it
//!   (`rate_limit_blocks_until_the_turn_within_max_wait`,
//!   `rate_limit_admits_the_burst_then_refuses`); a parked wait is not a
//!   spin (`runtime/src/blocking.rs`: `a_deadline_ends_the_wait`).
//! - One `static` policy serves sync and async callers alike
//!   (`a_static_breaker_serves_sync_and_async_callers`).
//! - Shutdown wakes a thread blocked in a bulkhead's line, waiting for a
//!   turn, or sleeping a retry delay (`tests/sync_shutdown.rs`:
//!   `shutdown_wakes_blocked_threads`).
//! - No allocation per call on success, five attributes stacked, and none
//!   when a retry sleeps (`tests/alloc.rs`:
//!   `plain_functions_do_not_allocate_on_success`,
//!   `a_plain_fn_does_not_allocate_when_it_retries`).
//! - `#[timeout]`, `#[hedge]`, `#[leader]` and `#[chaos]` on a plain `fn`
//!   are compile errors on the attribute, with the reason; an async
//!   fallback handler on one is a compile error naming the fix; a retried
//!   body that moves an argument is reported at the move
//!   (`tests/ui/timeout-not-async.rs`, `hedge-not-async.rs`,
//!   `leader-not-async.rs`, `chaos-not-async.rs`,
//!   `stack-sync-with-timeout-below.rs`,
//!   `fallback-async-handler-on-sync-fn.rs`,
//!   `retry-sync-moves-owned-argument.rs`).
//!
//! ## Across processes (Redis)
//!
//! With a store (`steadfast-redis`, feature `redis`), against a real
//! `redis-server` that the tests start:
//!
//! - Four OS processes share one limit: together they admit at most
//!   `burst + rate × t` and at least 99 % of it (`redis/tests/replicas.rs`:
//!   `four_processes_share_one_limit`); each decision is one script, on the
//!   server's clock, exact for fractional rates
//!   (`redis/tests/rate_limit.rs`: `a_fractional_rate_is_counted_exactly`,
//!   `waiters_reserve_consecutive_turns_in_order`); batched mode makes ten
//!   times fewer round trips and keeps its documented bound
//!   (`redis/tests/batch.rs`).
//! - A circuit breaker opened from one replica's failures rejects on all
//!   four within `sync_interval + store_timeout` of the store's opening, and
//!   on none before (`redis/tests/breaker_replicas.rs`:
//!   `an_opened_breaker_rejects_on_every_replica_within_the_bound`; on paused
//!   time at every phase of the sync round:
//!   `another_process_sees_the_store_open_within_the_staleness_bound`); the
//!   closed path makes no round trip per call
//!   (`the_closed_path_reports_in_batches_not_per_call`).
//! - Exactly one probe runs cluster-wide per half-open period
//!   (`exactly_one_probe_runs_per_half_open_period` across four processes;
//!   `exactly_one_probe_runs_cluster_wide`; 50 racing acquires get exactly
//!   the probe slots: `redis/tests/breaker_store.rs`:
//!   `concurrent_acquires_get_exactly_the_probe_slots`); a result from an
//!   old generation or an expired lease moves nothing
//!   (`a_result_of_an_old_generation_moves_nothing`,
//!   `an_expired_lease_is_reclaimed_and_its_result_fenced_off`,
//!   `a_probe_result_after_its_lease_expired_moves_nothing`).
//! - `kill -9` of Redis: each policy follows its `on_store_error` within one
//!   store timeout (and, for a breaker, one sync interval), no call hangs,
//!   and the policies share again after the restart
//!   (`redis_killed_under_four_processes`,
//!   `with_redis_killed_each_limiter_follows_on_store_error_then_shares_again`,
//!   `each_breaker_follows_on_store_error_and_resumes_after_a_restart`,
//!   `kill_9_then_restart_and_the_store_works_again`); an operator's hold
//!   outranks the store (`an_operators_hold_outranks_the_store`, loom:
//!   `loom_the_syncers_moves_never_overwrite_a_hold`); a key holding
//!   anything else is refused and left untouched
//!   (`invalid_key_contents_are_refused_and_untouched`,
//!   `a_key_holding_something_else_is_an_invalid_reply`).
//!
//! ## State scope and keyed state
//!
//! - `shared = EXPR` is evaluated on each call: one policy per instance
//!   (`self.breaker`), one built at startup (`&*FROM_CONFIG`), a registry
//!   lookup, or a `static` (`tests/shared.rs`, and the `shared_*` tests of
//!   `tests/rate_limit.rs`); a wrong type is a compile error naming the
//!   expected type (`tests/ui/*-shared-*wrong-type.rs`).
//! - `key = EXPR` keeps keys isolated (`tests/keyed.rs`:
//!   `a_failing_key_opens_only_its_own_breaker`,
//!   `each_tenant_has_its_own_limit_and_the_key_is_not_moved`;
//!   `tests/keyed_keys.rs`: every kind of key expression); the map never
//!   holds more than `max_keys` states, even under 10,000 distinct keys from
//!   several threads (`max_keys_is_never_exceeded_under_ten_thousand_distinct_keys`,
//!   loom: `loom_racing_misses_stay_within_max_keys`); a state with a call in
//!   flight is never evicted (`eviction_never_drops_a_state_with_a_call_in_flight`,
//!   loom: `loom_eviction_never_removes_a_state_in_flight`); closed breakers
//!   go before open ones and the state idle longest goes first
//!   (`closed_breakers_are_evicted_before_open_ones_and_idle_longest_first`,
//!   `the_state_idle_longest_is_evicted_first`, and the reference model
//!   `eviction_follows_the_reference_model`); keys that cannot be stored
//!   share a bounded overflow state
//!   (`keys_that_cannot_be_stored_share_the_overflow_state`).
//! - A call on a key already stored allocates nothing (`tests/alloc.rs`:
//!   `a_keyed_policy_does_not_allocate_when_the_key_is_stored`).
//!
//! ## Manual control
//!
//! - An operator's `force_open()`, `force_closed()` and `reset()` outrank
//!   every racing transition: once `force_open()` returns no call runs until
//!   the operator releases it, whatever failing calls were in flight (the hold
//!   lives in the breaker's state word; `runtime/src/circuit_breaker/tests/force.rs`:
//!   `force_open_outranks_failing_calls_racing_it`,
//!   `force_closed_outranks_failing_calls_racing_it`; loom:
//!   `loom_force_outranks_a_racing_closed_failure_and_admission`,
//!   `loom_force_open_outranks_a_racing_probe_result`,
//!   `loom_force_closed_outranks_a_racing_reopen_and_admission`,
//!   `loom_a_forced_state_ends_only_by_a_command`).
//! - Name-based controls (`health::breaker(name)`) reach every breaker of that
//!   name, and two policies built under one name are reported
//!   (`tests/health_duplicates.rs`).
//!
//! ## Slow and hung calls
//!
//! - `#[timeout]` drops (cancels) the call at the deadline and returns
//!   `Rejected::Timeout { after }` (`the_inner_future_is_dropped_at_the_deadline`,
//!   `the_inner_future_is_dropped_at_the_deadline_not_later`); a bulkhead
//!   above it frees the slot only after the body is gone
//!   (`a_timed_out_body_is_gone_before_its_bulkhead_slot_is_free`);
//!   under `#[retry]` each attempt gets its own deadline, above it one deadline
//!   covers all attempts (`tests/stacking.rs`).
//! - A timeout acts at the body's `.await` points: code that blocks the thread
//!   without awaiting cannot be interrupted (as with every async timeout). A
//!   body that always has work ready (draining a long channel backlog, looping
//!   on `consume_budget`) is still cut off at the deadline, even once it has
//!   spent tokio's cooperative budget
//!   (`a_body_spending_the_whole_coop_budget_is_cut_off_at_the_deadline`;
//!   `tests/timeout.rs`: `a_body_looping_on_the_coop_budget_times_out_at_the_deadline`,
//!   `draining_a_channel_backlog_times_out_at_the_deadline`).
//! - `max_elapsed` never cuts a running attempt short; it only stops retries
//!   whose delay would end past it (`max_elapsed_does_not_cut_a_running_attempt_short`).
//! - A hung call inside a breaker holds its admission until it ends or is
//!   dropped; put a `#[timeout]` below the breaker so that a hang counts as a
//!   failure (`inner_timeout_counts_as_a_failure`).
//!
//! ## State changes and late results
//!
//! - A result from a call admitted before a state change does not move the
//!   new state (`late_failure_from_closed_does_not_move_half_open`,
//!   `late_success_from_closed_does_not_close_half_open`,
//!   `late_probe_from_an_earlier_half_open_period_does_not_count`).
//! - Concurrent probe results are never lost
//!   (`a_probe_failure_racing_another_probe_is_never_lost`), nor is a release
//!   racing a caller joining a bulkhead's queue
//!   (`a_release_racing_a_new_waiter_is_never_lost`).
//!
//! ## Clock
//!
//! - Every delay, deadline and window is tokio time: with
//!   `tokio::time::pause()` (or `#[tokio::test(start_paused = true)]`) every
//!   policy is deterministic, and all of the above are tested that way.
//! - Durations that cannot be represented saturate: a backoff never
//!   overflows (`backoff_saturates_at_max_for_many_retries_without_panicking`),
//!   and a timeout whose deadline is past the clock's range is no limit
//!   (`an_unrepresentable_deadline_is_no_limit`).
//! - Old calls never come back into a time window, whatever the idle time
//!   (`runtime/src/circuit_breaker/tests/window_wrap.rs`:
//!   `a_10us_window_idle_for_the_old_wrap_distance_stays_empty`,
//!   `a_1s_window_idle_for_97_days_stays_empty`, the reference models
//!   `time_window_matches_the_reference_model` and
//!   `breaker_on_a_time_window_matches_the_reference_model`, and three loom
//!   models of buckets moving to new rounds).
//!
//! ## Types and composition
//!
//! - If the un-annotated future is `Send`, the annotated one is, also when `T`
//!   or `E` is not `Send` (an `Rc` in `T`, a `Box<dyn Error>`): no layer keeps
//!   the outcome across an `.await` (`tests/send.rs`).
//! - A rejection keeps its kind through every layer, a declining `#[fallback]`
//!   included (`tests/fallback.rs`:
//!   `circuit_open_through_a_declining_fallback_is_not_retried`,
//!   `a_timeout_through_a_declining_fallback_is_retried`,
//!   `an_outer_breaker_counts_timeouts_through_a_declining_fallback`).
//! - Written order holds for any path and next to other crates' attributes
//!   (`tests/paths.rs`, `compat/tests/other_attributes.rs`); the same attribute under
//!   two paths is an error (`tests/ui/stack-same-attribute-under-two-paths.rs`).
//!
//! ## All of it at once, over a real network
//!
//! `tests/soak.rs` (`soak_real_http_faults_outages_cancellations_and_panics`)
//! drives five annotated functions, which use all five attributes with shared
//! and per-function breakers and bulkheads, from two threads against a real
//! HTTP server on loopback that injects server errors, throttling, latency
//! spikes, connection resets and requests that never answer, and goes
//! through outages and recoveries; callers cancel calls at random and bodies
//! panic at random. Throughout, it checks that no bulkhead runs more bodies
//! than `max_concurrent` (an in-body counter, and `health()` sampled every
//! 500 µs), that every call ends in `Ok`, the body's error or a typed
//! `Rejected` naming the right policy (none outlives a generous outer
//! deadline), that no call makes more attempts than its `#[retry]` allows,
//! and that every breaker opens during outages; at the end, that every
//! breaker closed again and nothing is running, waiting or probing.
//! `injected_faults_reach_the_client_as_intended` checks the fault injector
//! itself (a reset is an `ECONNRESET`, a hang never answers). The default run
//! (about 30,000 calls in 4 s) is part of `cargo test`; `STEADFAST_SOAK=long`
//! runs at least 100,000 calls (`STEADFAST_SOAK_CALLS=N` to choose).
//!
//! ## Macro input
//!
//! The attributes never panic: every misuse is a compile error spanned on the
//! offending tokens, with the function still emitted (trybuild cases in
//! `tests/ui/`, and a property test in `macros/src/robustness.rs` that feeds
//! thousands of generated and mutated inputs through the expansion).
//!
//! A duration given as a const expression is evaluated by the compiler where
//! the function is compiled (an inline `const`, so that it may name `Self` or
//! the function's generics: `tests/const_durations.rs`). An invalid value is
//! then a compile error of `cargo build` (after monomorphization, so
//! `cargo check` does not see it): a zero timeout,
//!
//! ```compile_fail
//! use std::time::Duration;
//! const LIMIT: Duration = Duration::ZERO;
//!
//! #[steadfast::timeout(LIMIT)]
//! async fn fetch() -> std::io::Result<u32> {
//!     Ok(1)
//! }
//! # #[tokio::main(flavor = "current_thread")] async fn main() { let _ = fetch().await; }
//! ```
//!
//! or a first retry delay above the backoff's `max`:
//!
//! ```compile_fail
//! use std::time::Duration;
//! const INITIAL: Duration = Duration::from_secs(5);
//!
//! #[steadfast::retry(backoff = exponential(INITIAL, max = "1s"))]
//! async fn fetch() -> Result<u32, String> {
//!     Ok(1)
//! }
//! # #[tokio::main(flavor = "current_thread")] async fn main() { let _ = fetch().await; }
//! ```
//!
//! A value known only at run time (`#[timeout(self.limit)]`, an argument) is a
//! spanned error that says how to choose a limit at run time
//! (`tests/ui/timeout-run-time-value.rs`,
//! `tests/ui/circuit-breaker-open-for-argument.rs`), and a `const` breaker
//! passed to `shared` (a fresh breaker at every use) is refused where it is
//! written (`tests/ui/circuit-breaker-shared-const.rs`).
//!
//! ## Configuration overrides
//!
//! - An override is checked with the attribute's own rule and message, and
//!   nothing changes unless every entry is valid (`tests/config.rs`:
//!   `invalid_values_get_the_compile_time_messages`,
//!   `invalid_bulkhead_values_get_the_compile_time_messages`,
//!   `invalid_rate_limit_values_get_the_compile_time_messages`,
//!   `nothing_changes_when_any_entry_is_bad`); unknown names and keys list
//!   the valid ones (`unknown_names_and_keys_list_the_valid_ones`).
//! - A breaker's thresholds change while it runs
//!   (`a_running_key_changes_an_attribute_breaker_in_use_by_its_default_name`);
//!   a bulkhead's limits and a rate limiter's settings change until the
//!   policy is first used, and are refused after
//!   (`a_bulkhead_queue_limit_is_a_startup_key_and_max_wait_a_running_one`,
//!   `a_rate_limit_is_overridden_before_its_first_call_and_fixed_by_it`;
//!   an override racing the first call is either the one it fixes or
//!   refused: `runtime/src/rate_limit/tests.rs`,
//!   `an_override_is_either_fixed_by_the_first_call_or_refused`).
//! - A keyed policy's keys take them by the policy's name
//!   (`a_keyed_policy_takes_overrides_for_every_key_by_its_name`), and each
//!   application is an event (`tests/config_events.rs`:
//!   `applying_and_refusing_overrides_are_events`).
//!
//! ## Health checks
//!
//! - N consecutive failures hold the named breaker open, M consecutive
//!   successes release it, and a check never releases an operator's hold
//!   (`tests/health_checks.rs`:
//!   `n_failures_hold_the_breaker_open_and_m_successes_release_it`,
//!   `an_operators_hold_is_never_released_by_a_check`); a hung probe is
//!   dropped at its timeout and counts as a failure
//!   (`a_hung_probe_times_out_counts_as_a_failure_and_is_dropped`).
//! - Readiness follows the gating checks and liveness never does, in the
//!   snapshot and over real HTTP
//!   (`readiness_follows_the_gating_checks_and_liveness_never_does`,
//!   `tests/health_http.rs`:
//!   `readiness_answers_503_until_the_check_is_up_and_liveness_200_throughout`;
//!   the demo: `short_demo_serves_readiness_and_shuts_down_gracefully`).
//!
//! ## State that survives a restart
//!
//! - A breaker opened before a restart rejects, in a new process, for exactly
//!   the time it had left, then probes one call at a time
//!   (`tests/snapshot.rs`:
//!   `a_breaker_opened_before_a_restart_rejects_for_the_time_left_then_probes`,
//!   across a real process boundary); the snapshot's age is taken off, and a
//!   snapshot older than `open_for` restores closed
//!   (`restore_ages_a_snapshot_by_the_wall_clock`); a bad snapshot changes
//!   nothing and unknown names are reported, not fatal
//!   (`bad_snapshots_fail_clearly_and_unknown_names_are_reported`).
//!
//! ## Chaos
//!
//! - Without the feature `chaos`, `#[chaos]` compiles to nothing: no fault at
//!   rate 1.0, no time passes, the same future size (`tests/chaos_off.rs`).
//! - With it, the same seed replays the same faults
//!   (`tests/chaos.rs`: `the_same_seed_replays_the_same_faults`), rates
//!   hold (`the_error_rate_holds_with_an_exact_count_for_the_seed`), and the
//!   policies above react as to real faults
//!   (`a_retry_above_retries_injected_errors`,
//!   `a_breaker_above_opens_on_injected_errors_and_closes_after`,
//!   `a_timeout_above_fires_on_injected_latency`).
//!
//! ## Shutdown
//!
//! - Once [`shutdown`](crate::shutdown()) is called, a new call into a
//!   circuit breaker, bulkhead, rate limiter or timeout (keyed ones too) is
//!   refused with `Rejected::ShuttingDown` without running
//!   (`tests/shutdown.rs`: `new_calls_into_any_policy_are_refused_without_running`,
//!   `keyed_policies_refuse_new_calls_too`).
//! - With 100 calls in flight and 50 waiting in a bulkhead, the 100 end with
//!   their results, the 50 with `ShuttingDown`, none hangs, and the drain
//!   returns when the last call finishes, or at its deadline with the calls
//!   still running in its report (which does not cancel them)
//!   (`hundred_in_flight_finish_fifty_waiting_leave_and_the_drain_ends_with_the_last`,
//!   `the_drain_stops_at_its_deadline_and_reports_the_calls_still_running`;
//!   on four threads, with slots handed over as the signal arrives:
//!   `on_four_threads_hand_overs_race_the_signal_and_every_call_ends`).
//! - Rate-limit waiters leave at once, a shared limiter's too
//!   (`rate_limit_waiters_leave_at_once`, `a_shared_limiters_waiter_leaves_too`).
//! - A retry delay ends at once with the last error, and an attempt failing
//!   after shutdown began is not retried (`a_retry_delay_ends_at_once_with_the_last_error`,
//!   `an_attempt_failing_after_shutdown_began_is_not_retried`,
//!   `the_programmatic_retry_ends_its_delay_with_the_last_error`; the
//!   documented exception for an error type that is not `Send`:
//!   `with_an_error_that_is_not_send_the_delay_ends_and_one_last_attempt_runs`).
//! - An outer breaker counts a refusal as neither success nor failure
//!   (`an_outer_breaker_counts_a_waiter_sent_away_as_neither_success_nor_failure`).
//! - After `shutdown::track_calls()`, the drain waits for the calls in
//!   flight in registered circuit breakers (no bulkhead needed) and lists
//!   each breaker as a `circuit_breaker` entry
//!   (`with_tracking_breaker_calls_in_flight_are_drained_and_reported`), or
//!   stops at its deadline with the calls still running in its report
//!   (`with_tracking_the_drain_stops_at_its_deadline_with_a_breaker_call_still_running`);
//!   a call leaves the count however it ends: reported, dropped unused,
//!   cancelled, panicking
//!   (`with_tracking_every_way_a_permit_ends_leaves_the_count`,
//!   `with_tracking_a_breaker_call_dropped_while_running_counts_as_finished`,
//!   `with_tracking_a_panicking_breaker_call_leaves_the_count`); a call
//!   racing the start of shutdown is refused or counted, never missed (the
//!   loom models in `runtime/src/shutdown/loom.rs`;
//!   `on_four_threads_breaker_calls_racing_shutdown_are_refused_or_counted`).
//!   Without it breaker calls are neither waited for nor listed
//!   (`without_tracking_breaker_calls_are_neither_waited_for_nor_listed`),
//!   nor are keyed breakers' per-key states with it
//!   (`with_tracking_keyed_breaker_calls_are_not_waited_for`).
//!
//! ## Leader election
//!
//! - At most one `#[leader]` body runs at a time across processes: three
//!   replicas running jobs back to back for 60 s on a real etcd, killed and
//!   restarted twice (for less, then more, than the TTL; the long outage
//!   cuts off a running body, which is cancelled with `LeadershipLost`, and
//!   nobody leads until etcd is back), open no two bodies at once and have
//!   no stale write accepted by a log that fences by token; tokens increase
//!   from leader to leader
//!   (`etcd/tests/leader.rs`: `three_replicas_60s_with_etcd_restarts_no_overlap_no_stale_write`).
//! - `kill -9` of the leader: another leads within TTL + 1 s (measured
//!   1.9–2.3 s with a 2 s TTL;
//!   `kill_9_of_the_leader_another_leads_within_ttl_plus_1s`).
//! - `SIGSTOP` of the leader past its TTL, then `SIGCONT`: its body is
//!   cancelled (`LeadershipLost`) and the write it had under way is refused by
//!   its fencing token; none of its writes is accepted after the new leader
//!   began
//!   (`sigstop_of_the_leader_past_its_ttl_cancels_its_body_and_its_write_is_fenced`).
//! - A concurrent call is refused naming the holder, `health()` lists the
//!   election, and resigning lets the next call win with a greater token;
//!   above `#[retry]` every attempt runs under one leadership, below it
//!   `NotLeader` is not retried
//!   (`one_process_runs_the_body_with_a_token_refuses_a_second_call_and_resigns`).
//! - Graceful shutdown cancels a running body (`ShuttingDown`), resigns at
//!   once (5 ms in the test, against a 10 s lease), and refuses new calls
//!   (`etcd/tests/leader_shutdown.rs`:
//!   `graceful_shutdown_cancels_the_body_and_resigns_at_once`).
//! - Under paused time on an in-memory store (`runtime/src/leader/tests.rs`):
//!   a lease that cannot be refreshed cancels the body within the TTL
//!   (`a_lease_that_cannot_be_refreshed_cancels_the_body_within_the_ttl`), a
//!   revoked one at the next refresh
//!   (`a_revoked_lease_cancels_the_body_at_the_next_refresh`), a process
//!   resumed past its deadline drops the body without polling it again
//!   (`a_paused_process_drops_the_body_without_polling_it_again`), a dropped
//!   call resigns (`a_dropped_call_resigns_in_the_background`), `wait` wins
//!   when the holder resigns (`with_wait_a_call_wins_when_the_holder_resigns`).
