//! Who may call and how much: registered app registrations (OAuth client credentials, tokens
//! with a lifetime in API time) and on-premises users (basic auth with an access key), and
//! BC's per-user limits (api-notes §4): a sliding window of N requests per window (6,000 per
//! 5 minutes, the window in API time so a time scale shrinks it), M concurrent requests with
//! a bounded queue behind them, 429 beyond either. Counters per principal. It must not know
//! about entities.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use super::errors::BcFault;

/// The sandbox's view of BC's per-user limits.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    /// Requests allowed per window, per principal (BC: 6,000).
    pub requests: u64,
    /// Window length in API time (BC: 5 minutes; scaled by the clock's time scale).
    pub window: Duration,
    /// Requests processed at once per principal (BC: 5).
    pub max_concurrent: usize,
    /// Requests waiting behind those; one more gets 429 (BC: 95).
    pub max_queue: usize,
    /// How long a request may wait in the queue, in API time, before 503 (BC: 8 minutes).
    pub queue_timeout: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            requests: 6000,
            window: Duration::from_mins(5),
            max_concurrent: 5,
            max_queue: 95,
            queue_timeout: Duration::from_mins(8),
        }
    }
}

/// Counters of one principal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PrincipalCounters {
    /// API requests received (throttled ones included; token requests not).
    pub requests: u64,
    /// Of those, answered 429.
    pub throttled: u64,
    /// Window units used (a `$batch` may use one per operation).
    pub units: u64,
}

#[derive(Debug)]
struct PrincipalState {
    secret: String,
    /// Basic-auth principals have no token.
    basic: bool,
    user_id: Uuid,
    window: VecDeque<f64>,
    semaphore: Arc<Semaphore>,
    waiting: usize,
    counters: PrincipalCounters,
}

#[derive(Debug)]
struct Inner {
    principals: BTreeMap<String, PrincipalState>,
    tokens: HashMap<String, (String, f64)>,
    rng: ChaCha8Rng,
}

/// Principals, tokens and limits of one sandbox.
#[derive(Debug)]
pub(crate) struct Limiter {
    inner: Mutex<Inner>,
    limit: RateLimit,
    scale: f64,
    /// Whether a 429 carries `Retry-After` (see `BcBehaviour::retry_after_on_429`).
    retry_after: bool,
}

/// A request admitted to processing; dropping it frees the concurrency slot.
#[derive(Debug)]
pub(crate) struct Admission {
    _permit: OwnedSemaphorePermit,
}

/// A request counted in its principal's `waiting`; dropping it uncounts it.
struct Queued<'a> {
    limiter: &'a Limiter,
    principal: &'a str,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        let mut inner = self.limiter.lock();
        if let Some(state) = inner.principals.get_mut(self.principal) {
            state.waiting = state.waiting.saturating_sub(1);
        }
    }
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit, scale: f64, seed: u64) -> Self {
        Self {
            inner: Mutex::new(Inner {
                principals: BTreeMap::new(),
                tokens: HashMap::new(),
                rng: ChaCha8Rng::seed_from_u64(seed),
            }),
            limit,
            scale: scale.max(0.001),
            retry_after: true,
        }
    }

    /// Whether its 429s carry `Retry-After`.
    pub(crate) fn with_retry_after(mut self, on: bool) -> Self {
        self.retry_after = on;
        self
    }

    fn throttled(&self, actual: u64, limit: u64, wait: f64) -> BcFault {
        let mut fault = BcFault::too_many_requests(actual, limit, wait);
        if !self.retry_after {
            fault.retry_after = None;
        }
        fault
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers an app registration (client id + secret) or an on-premises user (+ key).
    pub(crate) fn register(&self, name: &str, secret: &str, basic: bool) {
        let mut inner = self.lock();
        let user_id = Uuid::from_u128(inner.rng.random());
        inner.principals.insert(
            name.to_owned(),
            PrincipalState {
                secret: secret.to_owned(),
                basic,
                user_id,
                window: VecDeque::new(),
                semaphore: Arc::new(Semaphore::new(self.limit.max_concurrent.max(1))),
                waiting: 0,
                counters: PrincipalCounters::default(),
            },
        );
    }

    /// Issues a token for valid client credentials: `(token, lifetime seconds)`.
    pub(crate) fn issue_token(
        &self,
        client_id: &str,
        secret: &str,
        now_api: f64,
        lifetime: Duration,
    ) -> Option<String> {
        let mut inner = self.lock();
        let ok = inner
            .principals
            .get(client_id)
            .is_some_and(|p| !p.basic && p.secret == secret);
        if !ok {
            return None;
        }
        let bytes: [u8; 24] = inner.rng.random();
        let token = format!(
            "eyJ0eXAiOiJKV1Qi.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        inner.tokens.insert(
            token.clone(),
            (client_id.to_owned(), now_api + lifetime.as_secs_f64()),
        );
        Some(token)
    }

    /// Every principal's secret (or access key) and every token issued so far.
    pub(crate) fn secrets_issued(&self) -> Vec<String> {
        let inner = self.lock();
        inner
            .principals
            .values()
            .map(|p| p.secret.clone())
            .chain(inner.tokens.keys().cloned())
            .collect()
    }

    /// The principal behind a bearer token still valid at `now_api`.
    pub(crate) fn bearer(&self, token: &str, now_api: f64) -> Option<String> {
        let inner = self.lock();
        inner
            .tokens
            .get(token)
            .filter(|(_, expires)| *expires > now_api)
            .map(|(principal, _)| principal.clone())
    }

    /// The principal behind a basic-auth header.
    pub(crate) fn basic(&self, header_value: &str) -> Option<String> {
        let encoded = header_value.strip_prefix("Basic ")?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, key) = text.split_once(':')?;
        let inner = self.lock();
        inner
            .principals
            .get(user)
            .filter(|p| p.basic && p.secret == key)
            .map(|_| user.to_owned())
    }

    pub(crate) fn user_id(&self, principal: &str) -> Uuid {
        self.lock()
            .principals
            .get(principal)
            .map_or(Uuid::nil(), |p| p.user_id)
    }

    /// Counts one request and admits it, waiting in the queue for a concurrency slot.
    /// `units` is how many window slots it takes.
    pub(crate) async fn admit(
        &self,
        principal: &str,
        units: u64,
        now_api: f64,
    ) -> Result<Admission, BcFault> {
        // Decided once, under the lock: either a slot is taken now, or the request is counted
        // in `waiting` until its wait ends (a slot freed after the lock is released must not
        // change which of the two happened).
        let slot = {
            let mut inner = self.lock();
            let Some(state) = inner.principals.get_mut(principal) else {
                return Err(BcFault::unauthorized());
            };
            state.counters.requests += 1;
            let window = self.limit.window.as_secs_f64();
            while state.window.front().is_some_and(|t| *t <= now_api - window) {
                state.window.pop_front();
            }
            let used = state.window.len() as u64;
            if used + units > self.limit.requests {
                state.counters.throttled += 1;
                // When enough of the window has aged out; in wall seconds for the header.
                let index = (used + units)
                    .saturating_sub(self.limit.requests)
                    .saturating_sub(1) as usize;
                let frees_at = state.window.get(index).map_or(window, |t| t + window);
                let wait = ((frees_at - now_api).max(0.0) / self.scale).max(0.001);
                return Err(self.throttled(used + units, self.limit.requests, wait));
            }
            // `Ok`: a slot now; `Err`: the semaphore to wait on in the queue.
            let slot = Arc::clone(&state.semaphore)
                .try_acquire_owned()
                .map_err(|_| Arc::clone(&state.semaphore));
            if slot.is_err() {
                if state.waiting >= self.limit.max_queue {
                    state.counters.throttled += 1;
                    return Err(self.throttled(
                        (self.limit.max_concurrent + state.waiting + 1) as u64,
                        (self.limit.max_concurrent + self.limit.max_queue) as u64,
                        0.1,
                    ));
                }
                state.waiting += 1;
            }
            for _ in 0..units {
                state.window.push_back(now_api);
            }
            state.counters.units += units;
            slot
        };
        let semaphore = match slot {
            Ok(permit) => return Ok(Admission { _permit: permit }),
            Err(semaphore) => semaphore,
        };
        // Queued: leaves the queue when the wait ends, however it ends (a dropped request too).
        let _queued = Queued {
            limiter: self,
            principal,
        };
        // BC answers 503 after 8 minutes in the queue (api-notes §4), in API time.
        let patience = self.limit.queue_timeout.div_f64(self.scale);
        let permit = tokio::time::timeout(patience, semaphore.acquire_owned()).await;
        match permit {
            Ok(Ok(permit)) => Ok(Admission { _permit: permit }),
            Ok(Err(_)) | Err(_) => Err(BcFault::new(
                503,
                "Internal_ServiceUnavailable",
                "The request waited too long in the queue.",
            )),
        }
    }

    /// Counts a request refused before admission (bad token, injected fault).
    pub(crate) fn count_refused(&self, principal: &str, status: u16) {
        let mut inner = self.lock();
        if let Some(state) = inner.principals.get_mut(principal) {
            state.counters.requests += 1;
            if status == 429 {
                state.counters.throttled += 1;
            }
        }
    }

    pub(crate) fn counters(&self) -> BTreeMap<String, PrincipalCounters> {
        self.lock()
            .principals
            .iter()
            .map(|(name, state)| (name.clone(), state.counters.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn window_and_tokens() {
        let limiter = Limiter::new(
            RateLimit {
                requests: 3,
                window: Duration::from_secs(10),
                max_concurrent: 5,
                max_queue: 0,
                queue_timeout: Duration::from_mins(8),
            },
            1.0,
            7,
        );
        limiter.register("app", "secret", false);
        assert!(
            limiter
                .issue_token("app", "wrong", 0.0, Duration::from_mins(1))
                .is_none()
        );
        let token = limiter
            .issue_token("app", "secret", 0.0, Duration::from_mins(1))
            .unwrap();
        assert_eq!(limiter.bearer(&token, 59.0).as_deref(), Some("app"));
        assert!(limiter.bearer(&token, 61.0).is_none());
        for t in 0..3 {
            drop(limiter.admit("app", 1, f64::from(t)).await.unwrap());
        }
        let refused = limiter.admit("app", 1, 5.0).await.unwrap_err();
        assert_eq!(refused.status, 429);
        assert_eq!(refused.retry_after, Some(5.0));
        drop(limiter.admit("app", 1, 10.5).await.unwrap());
        let counters = &limiter.counters()["app"];
        assert_eq!((counters.requests, counters.throttled), (5, 1));
    }

    #[tokio::test]
    async fn a_full_queue_answers_429() {
        let limiter = Limiter::new(
            RateLimit {
                requests: 100,
                window: Duration::from_secs(10),
                max_concurrent: 1,
                max_queue: 0,
                queue_timeout: Duration::from_mins(8),
            },
            1.0,
            7,
        );
        limiter.register("u", "k", true);
        let held = limiter.admit("u", 1, 0.0).await.unwrap();
        assert_eq!(limiter.admit("u", 1, 0.0).await.unwrap_err().status, 429);
        drop(held);
        assert!(limiter.admit("u", 1, 0.0).await.is_ok());
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("u:k")
        );
        assert_eq!(limiter.basic(&header).as_deref(), Some("u"));
    }

    fn waiting(limiter: &Limiter, principal: &str) -> usize {
        limiter.lock().principals[principal].waiting
    }

    fn one_at_a_time(max_queue: usize) -> Limiter {
        let limiter = Limiter::new(
            RateLimit {
                requests: u64::MAX,
                window: Duration::from_secs(10),
                max_concurrent: 1,
                max_queue,
                queue_timeout: Duration::from_mins(8),
            },
            1.0,
            7,
        );
        limiter.register("u", "k", true);
        limiter
    }

    /// Waits (yielding) until `principal` has `n` requests in its queue.
    async fn until_waiting(limiter: &Limiter, principal: &str, n: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while waiting(limiter, principal) != n {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("never {n} waiting"));
    }

    #[tokio::test]
    async fn a_request_leaves_the_queue_when_admitted_or_dropped() {
        let limiter = Arc::new(one_at_a_time(1));
        let held = limiter.admit("u", 1, 0.0).await.unwrap();
        assert_eq!(waiting(&limiter, "u"), 0, "admitted at once: not queued");
        let queued = tokio::spawn({
            let limiter = Arc::clone(&limiter);
            async move { limiter.admit("u", 1, 0.0).await.map(drop) }
        });
        until_waiting(&limiter, "u", 1).await;
        assert_eq!(limiter.admit("u", 1, 0.0).await.unwrap_err().status, 429);
        drop(held);
        queued.await.unwrap().unwrap();
        assert_eq!(waiting(&limiter, "u"), 0);

        // A queued request given up by its caller leaves the queue too.
        let held = limiter.admit("u", 1, 0.0).await.unwrap();
        let abandoned = tokio::spawn({
            let limiter = Arc::clone(&limiter);
            async move { limiter.admit("u", 1, 0.0).await.map(drop) }
        });
        until_waiting(&limiter, "u", 1).await;
        abandoned.abort();
        assert!(abandoned.await.unwrap_err().is_cancelled());
        assert_eq!(waiting(&limiter, "u"), 0);
        drop(held);
    }

    /// Many threads admitting and freeing slots at once: every request is admitted (the
    /// queue never looks fuller than it is) and the queue is empty afterwards. (Racing
    /// threads rarely hit the moment a slot frees between deciding and waiting; the test
    /// above checks the decrement itself deterministically.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_queue_count_survives_racing_admissions() {
        const TASKS: usize = 8;
        let limiter = Arc::new(one_at_a_time(TASKS));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..TASKS {
            let limiter = Arc::clone(&limiter);
            tasks.spawn(async move {
                for _ in 0..2_000 {
                    let admission = limiter.admit("u", 1, 0.0).await.unwrap();
                    tokio::task::yield_now().await;
                    drop(admission);
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        assert_eq!(waiting(&limiter, "u"), 0);
        let counters = &limiter.counters()["u"];
        assert_eq!(
            (counters.requests, counters.throttled),
            ((TASKS * 2_000) as u64, 0)
        );
    }
}
