//! `backend_circuit_breaker` and `rate_limit`: thresholds, the open timeout, the request rate and
//! burst.

use super::Checker;
use crate::config::model::{
    CircuitBreakerConfig, RateLimitConfig, DEFAULT_FAILURE_THRESHOLD, DEFAULT_OPEN_TIMEOUT,
    DEFAULT_RATE_LIMIT_BURST, DEFAULT_RATE_LIMIT_RPS, DEFAULT_SUCCESS_THRESHOLD,
    MAX_FAILURE_THRESHOLD, MAX_RATE_LIMIT_BURST, MAX_SUCCESS_THRESHOLD, OPEN_TIMEOUT_RANGE,
};
use crate::config::raw::{RawCircuitBreaker, RawRateLimit, Scalar};

impl Checker<'_> {
    pub(super) fn circuit_breaker(
        &mut self,
        raw: Option<&RawCircuitBreaker>,
    ) -> CircuitBreakerConfig {
        let Some(r) = raw else {
            return CircuitBreakerConfig::default();
        };
        let enabled = self
            .boolean("backend_circuit_breaker.enabled", r.enabled.as_ref())
            .unwrap_or(false);
        let failure_threshold = self.count(
            "backend_circuit_breaker.failure_threshold",
            r.failure_threshold.as_ref(),
            u64::from(MAX_FAILURE_THRESHOLD),
            u64::from(DEFAULT_FAILURE_THRESHOLD),
        ) as u32;
        let open_timeout = self.bounded_duration(
            "backend_circuit_breaker.open_timeout",
            r.open_timeout.as_ref(),
            OPEN_TIMEOUT_RANGE,
            DEFAULT_OPEN_TIMEOUT,
        );
        let success_threshold = self.count(
            "backend_circuit_breaker.success_threshold",
            r.success_threshold.as_ref(),
            u64::from(MAX_SUCCESS_THRESHOLD),
            u64::from(DEFAULT_SUCCESS_THRESHOLD),
        ) as u32;
        CircuitBreakerConfig {
            enabled,
            failure_threshold,
            open_timeout,
            success_threshold,
        }
    }

    pub(super) fn rate_limit(&mut self, raw: Option<&RawRateLimit>) -> RateLimitConfig {
        let Some(r) = raw else {
            return RateLimitConfig::default();
        };
        let enabled = self
            .boolean("rate_limit.enabled", r.enabled.as_ref())
            .unwrap_or(false);
        const RPS: &str = "rate_limit.requests_per_sec";
        let requests_per_sec = match r.requests_per_sec.as_ref() {
            None | Some(Scalar::Null) => DEFAULT_RATE_LIMIT_RPS,
            Some(v) => {
                let parsed = match v {
                    Scalar::Int(i) => Some(*i as f64),
                    Scalar::Float(f) => Some(*f),
                    Scalar::Str(s) => self.expand(RPS, s).and_then(|t| t.trim().parse().ok()),
                    _ => None,
                };
                match parsed {
                    Some(x) if x.is_finite() && x > 0.0 && x <= 1e9 => x,
                    _ => {
                        self.problem(
                            RPS,
                            "expected a positive number of requests per second (at most 1e9)",
                        );
                        DEFAULT_RATE_LIMIT_RPS
                    }
                }
            }
        };
        let burst = self.count(
            "rate_limit.burst",
            r.burst.as_ref(),
            u64::from(MAX_RATE_LIMIT_BURST),
            u64::from(DEFAULT_RATE_LIMIT_BURST),
        ) as u32;
        RateLimitConfig {
            enabled,
            requests_per_sec,
            burst,
        }
    }
}
