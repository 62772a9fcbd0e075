//! Argon2id password hashing for staff accounts, always on a blocking thread so a sign-in
//! never stalls the requests sharing its worker.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::input::{self, Lines};
use crate::staff::common_passwords;

/// OWASP's first recommended argon2id setting: m=19456 KiB, t=2, p=1.
fn argon2() -> Result<Argon2<'static>, anyhow::Error> {
    let params =
        Params::new(19_456, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub const MIN_PASSWORD_LEN: usize = 12;
/// In characters: a long passphrase fits, and zxcvbn's work stays small.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// In bytes, so that sign-in can refuse a longer one before any work. Above what a new
/// password can be (128 characters of at most 4 bytes), so every password ever set, under
/// this rule or an older one, can still be typed at sign-in.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// zxcvbn's score out of 4 that a new password must reach ("safely unguessable": at least
/// 10^8 guesses, out of reach online and slow offline against argon2id).
const MIN_SCORE: u8 = 3;
/// User inputs handed to zxcvbn at most (the words of an email and an organisation name).
const MAX_USER_INPUTS: usize = 16;

/// What is known of the account a new password is for: a password built from the user's
/// email or organisation name is easy to guess for anyone who knows them. Empty when not
/// known (yet).
#[derive(Debug, Default, Clone, Copy)]
pub struct PasswordContext<'a> {
    pub email: &'a str,
    pub org_name: &'a str,
}

impl PasswordContext<'_> {
    /// The email, its parts and the organisation name and its words, lower case: zxcvbn
    /// matches each as a dictionary word.
    fn user_inputs(&self) -> Vec<String> {
        let mut inputs: Vec<String> = Vec::new();
        let whole = [self.email, self.org_name];
        let words = whole
            .into_iter()
            .flat_map(|s| s.split(|c: char| !c.is_alphanumeric()));
        for input in whole.into_iter().chain(words) {
            let input = input.trim().to_lowercase();
            if input.chars().count() >= 3 && !inputs.contains(&input) {
                inputs.push(input);
            }
        }
        inputs.truncate(MAX_USER_INPUTS);
        inputs
    }
}

/// A password field a form left out: `#[serde(default = "password::missing")]`, so the
/// checks say "Enter a password" instead of the body being refused.
pub fn missing() -> SecretString {
    SecretString::from("")
}

/// The one rule for a new staff password (first-run setup, `create-user`, accepting an
/// invitation, changing one's own), checked before hashing: 12 to 128 characters, no control
/// characters, not on the list of the most common passwords, and hard to guess by zxcvbn
/// (score 3 or more) knowing the user's email and organisation. The message says what to
/// do. Sign-in does not apply it: older passwords keep working.
pub fn validate_new_password(
    password: &SecretString,
    context: PasswordContext<'_>,
) -> Result<(), String> {
    let password = password.expose_secret();
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Err(format!("Use at least {MIN_PASSWORD_LEN} characters."));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!("Use at most {MAX_PASSWORD_CHARS} characters."));
    }
    if input::has_control(password, Lines::Single) {
        return Err("Remove the control characters (such as tab) from the password.".into());
    }
    if common_passwords::is_common(password) {
        return Err(
            "This password is among the most common ones, so it is one of the first that attackers try. Choose another."
                .into(),
        );
    }
    strength(password, context)
}

/// zxcvbn's verdict, with its own warning and suggestions when it has them.
fn strength(password: &str, context: PasswordContext<'_>) -> Result<(), String> {
    let inputs = context.user_inputs();
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    // A panic inside the estimator must not take the request with it; a password it cannot
    // judge is refused, with a way forward.
    let Ok(estimate) = std::panic::catch_unwind(|| zxcvbn::zxcvbn(password, &inputs)) else {
        return Err(
            "This password could not be checked. Choose another, for example a few unrelated words."
                .into(),
        );
    };
    if u8::from(estimate.score()) >= MIN_SCORE {
        return Ok(());
    }
    let mut message = String::from("This password is too easy to guess.");
    let feedback = estimate.feedback();
    if let Some(warning) = feedback.and_then(zxcvbn::feedback::Feedback::warning) {
        message.push_str(&format!(" {warning}"));
    }
    let suggestions = feedback.map(zxcvbn::feedback::Feedback::suggestions);
    match suggestions {
        Some(suggestions) if !suggestions.is_empty() => {
            for suggestion in suggestions {
                message.push_str(&format!(" {suggestion}"));
            }
        }
        _ => message.push_str(" Make it longer, for example with a few unrelated words."),
    }
    Err(message)
}

fn hash_blocking(password: &str) -> Result<String, anyhow::Error> {
    argon2()?
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
}

/// A hash of a random password with the same parameters as real ones: verifying against it
/// when the email is unknown costs what a real verification costs.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let random = crate::random::token_256().ok()?;
    hash_blocking(&random).ok()
});

/// Computes the dummy hash before the first sign-in, so that sign-in is not slower.
pub async fn warm_up() {
    let _ = tokio::task::spawn_blocking(|| LazyLock::force(&DUMMY_HASH)).await;
}

/// The right to run one argon2 computation. Each takes 19 MiB and a core for tens of
/// milliseconds, so an instance runs at most one per core: a burst of sign-ins can neither
/// exhaust memory nor starve the other requests. Held until the computation ends, even when
/// the request that asked for it has gone.
pub struct Argon2Slot {
    _permit: OwnedSemaphorePermit,
}

/// How long a sign-in (or a confirmation, or a password change) waits for a free slot before
/// it is told the server is busy: a few people signing in at the same moment all get in.
pub const SLOT_WAIT: Duration = Duration::from_millis(1500);
/// Callers that may wait for a slot at once, per slot; beyond them the answer is "busy" at
/// once. A waiting caller holds no argon2 memory, only its request.
pub const WAITING_PER_SLOT: usize = 4;

/// The instance's argon2 slots, and the short, bounded queue in front of them.
#[derive(Clone)]
pub struct Argon2Pool {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

/// One place in the queue, given back however the wait ends.
struct InQueue<'a>(&'a AtomicUsize);

impl Drop for InQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Argon2Pool {
    pub fn new(slots: usize) -> Self {
        let slots = slots.max(1);
        Self {
            slots: Arc::new(Semaphore::new(slots)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: slots.saturating_mul(WAITING_PER_SLOT),
        }
    }

    /// A slot if one is free now; `None` when every slot is busy.
    pub fn try_slot(&self) -> Option<Argon2Slot> {
        self.slots
            .clone()
            .try_acquire_owned()
            .ok()
            .map(|permit| Argon2Slot { _permit: permit })
    }

    /// A slot, waiting up to `SLOT_WAIT` in a queue of at most `WAITING_PER_SLOT` callers per
    /// slot (first come, first served); `None` tells the caller to answer "busy": the queue
    /// is full, or the wait ran out.
    pub async fn slot_soon(&self) -> Option<Argon2Slot> {
        if let Some(slot) = self.try_slot() {
            return Some(slot);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let _in_queue = InQueue(&self.waiting);
        let permit = tokio::time::timeout(SLOT_WAIT, self.slots.clone().acquire_owned()).await;
        match permit {
            Ok(Ok(permit)) => Some(Argon2Slot { _permit: permit }),
            _ => None,
        }
    }

    /// A slot, however long it takes (the command line, and the one-time first-run setup).
    pub async fn slot(&self) -> Result<Argon2Slot, anyhow::Error> {
        self.slots
            .clone()
            .acquire_owned()
            .await
            .map(|permit| Argon2Slot { _permit: permit })
            .map_err(|e| anyhow::anyhow!("argon2 slots closed: {e}"))
    }
}

pub async fn hash_password(
    slot: Argon2Slot,
    password: SecretString,
) -> Result<String, anyhow::Error> {
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        hash_blocking(password.expose_secret())
    })
    .await
    .map_err(|e| anyhow::anyhow!("hashing task failed: {e}"))?
}

/// Verifies `password` against `stored`, or against the dummy hash when there is no such
/// user, so both paths take the same time. Returns false for the dummy.
pub async fn verify_password(
    slot: Argon2Slot,
    password: SecretString,
    stored: Option<String>,
) -> Result<bool, anyhow::Error> {
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let (hash, real) = match stored {
            Some(hash) => (hash, true),
            None => (
                DUMMY_HASH
                    .clone()
                    .ok_or_else(|| anyhow::anyhow!("no dummy hash"))?,
                false,
            ),
        };
        let ok = argon2()?
            .verify_password(password.expose_secret().as_bytes(), hash.as_str())
            .is_ok();
        Ok(ok && real)
    })
    .await
    .map_err(|e| anyhow::anyhow!("verification task failed: {e}"))?
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn check(password: &str) -> Result<(), String> {
        validate_new_password(&SecretString::from(password), PasswordContext::default())
    }

    /// A strong passphrase cut or padded to exactly `n` characters, most of them two-byte.
    fn strong_of(n: usize) -> String {
        "émeraude vélo château ŝtono ĵaŭdo ĥoro ŭato ĉielo ğüzel şarkı ñandú ørret "
            .repeat(3)
            .chars()
            .take(n)
            .collect()
    }

    #[test]
    fn length_is_counted_in_characters_from_12_to_128() {
        assert_eq!(strong_of(11).chars().count(), 11);
        assert!(strong_of(11).len() > 12, "more bytes than characters");
        assert_eq!(
            check(&strong_of(11)),
            Err("Use at least 12 characters.".into())
        );
        assert_eq!(check(&strong_of(12)), Ok(()));
        assert_eq!(check(&strong_of(128)), Ok(()));
        assert!(strong_of(128).len() > 128);
        assert_eq!(
            check(&strong_of(129)),
            Err("Use at most 128 characters.".into())
        );
        // Four-byte characters: 128 of them pass (512 bytes, under sign-in's byte limit).
        let emoji: String = "🦀🌋🎻🧭🪐🦉🍋🧊".repeat(16);
        assert_eq!(emoji.chars().count(), 128);
        assert!(emoji.len() <= MAX_PASSWORD_BYTES);
        assert_eq!(check(&emoji), Ok(()));
        assert!(check(&format!("{emoji}🦀")).is_err());
    }

    #[test]
    fn control_characters_are_refused() {
        let message = check("violet\tquarry lantern sideways").unwrap_err();
        assert!(message.contains("control characters"), "{message}");
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in ["unbelievable", "Scandinavian", "MOTHERFUCKER"] {
            let message = check(common).unwrap_err();
            assert!(message.contains("most common"), "{common}: {message}");
        }
    }

    #[test]
    fn weak_passwords_are_refused_with_zxcvbn_feedback() {
        let message = check("aaaaaaaaaaaaaaaa").unwrap_err();
        assert!(message.starts_with("This password is too easy to guess."));
        assert!(message.contains("Repeats like"), "{message}");
        let message = check("qwertyuiopasdfgh").unwrap_err();
        assert!(message.contains("similar to a commonly used"), "{message}");
        assert!(check("Password2024!").is_err());
    }

    #[test]
    fn the_email_and_organisation_name_count_against_a_password() {
        let context = PasswordContext {
            email: "bill.lumbergh@initech.test",
            org_name: "Initech Hollister",
        };
        for built_from_them in [
            "bill.lumbergh@initech.test",
            "lumberghinitech",
            "Initech Hollister!",
        ] {
            let password = SecretString::from(built_from_them);
            assert_eq!(
                validate_new_password(&password, PasswordContext::default()),
                Ok(()),
                "{built_from_them} alone"
            );
            let message = validate_new_password(&password, context).unwrap_err();
            assert!(message.starts_with("This password is too easy to guess."));
        }
    }

    #[test]
    fn strong_passwords_pass() {
        for strong in [
            "violet quarry lantern sideways",
            "correct horse battery staple",
            "T7#kq!Vz2@pLm9xR",
        ] {
            assert_eq!(check(strong), Ok(()), "{strong}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_input_gets_an_answer_not_a_panic(password in "\\PC{0,140}") {
            let _ = check(&password);
        }
    }

    #[tokio::test]
    async fn hashes_verify_and_use_the_agreed_parameters() {
        let pool = Argon2Pool::new(1);
        let hash = hash_password(
            pool.slot().await.unwrap(),
            SecretString::from("correct horse battery"),
        )
        .await
        .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify_password(
                pool.slot().await.unwrap(),
                SecretString::from("correct horse battery"),
                Some(hash.clone())
            )
            .await
            .unwrap()
        );
        assert!(
            !verify_password(
                pool.slot().await.unwrap(),
                SecretString::from("wrong"),
                Some(hash)
            )
            .await
            .unwrap()
        );
        assert!(
            !verify_password(
                pool.slot().await.unwrap(),
                SecretString::from("anything"),
                None
            )
            .await
            .unwrap()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_pool_queues_a_few_callers_for_a_short_while_and_refuses_the_rest() {
        let pool = Argon2Pool::new(1);
        let held = pool.try_slot().unwrap();
        // One slot: four may wait, a fifth is refused at once.
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.slot_soon().await.is_some() })
            })
            .collect();
        tokio::task::yield_now().await;
        assert_eq!(pool.waiting.load(Ordering::SeqCst), 4);
        assert!(pool.slot_soon().await.is_none(), "the queue is full");
        // The slot comes free within the wait: the first waiter gets it, and so on down the
        // queue as each hands it back.
        drop(held);
        let mut served = 0;
        for waiter in waiters {
            if waiter.await.unwrap() {
                served += 1;
            }
        }
        assert_eq!(served, 4);
        assert_eq!(pool.waiting.load(Ordering::SeqCst), 0);

        // A slot held past the wait: the waiter is told "busy" after `SLOT_WAIT`.
        let held = pool.try_slot().unwrap();
        let started = tokio::time::Instant::now();
        assert!(pool.slot_soon().await.is_none());
        assert!(started.elapsed() >= SLOT_WAIT);
        drop(held);
    }

    #[tokio::test]
    async fn a_full_pool_says_so_at_once_and_frees_the_slot_after_the_work() {
        let pool = Argon2Pool::new(1);
        let slot = pool.try_slot().unwrap();
        assert!(pool.try_slot().is_none());
        hash_password(slot, SecretString::from("correct horse battery"))
            .await
            .unwrap();
        assert!(pool.try_slot().is_some());
    }
}
