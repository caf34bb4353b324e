//! Password hashing with Argon2id.
//!
//! Parameters: 19 MiB of memory, 2 passes, 1 lane: the first of OWASP's recommended Argon2id
//! configurations (Password Storage Cheat Sheet). One hash costs about 20–30 ms of one core
//! here, which bounds sign-ins per core; the figure is in BENCHMARKS.md. Hashing runs on the
//! blocking thread pool so it never stalls the async workers. Stored hashes carry their own
//! parameters (PHC string), so changing these later keeps old hashes verifiable.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

fn argon2() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub async fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let hash = argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2 hash: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches `phc`. A malformed stored hash never matches.
pub async fn verify(phc: &str, password: &str) -> anyhow::Result<bool> {
    let (phc, password) = (phc.to_owned(), password.to_owned());
    Ok(tokio::task::spawn_blocking(move || verify_blocking(&phc, &password)).await?)
}

fn verify_blocking(phc: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(argon2) = argon2() else {
        return false;
    };
    argon2.verify_password(password.as_bytes(), &parsed).is_ok()
}

/// Checks a new password: its length (domain rule), that it is not a well-known password, and
/// that it does not contain the user's e-mail name. Returns the problem, worded for the user.
pub fn check_new(password: &str, email: &str) -> Result<(), String> {
    domain::users::check_password(password)?;
    let lowered = password.to_lowercase();
    let common = include_str!("common_passwords.txt")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .any(|common| common == lowered);
    if common {
        return Err("is too common: it appears in lists attackers try first".into());
    }
    if lowered.chars().all(|c| lowered.starts_with(c)) {
        return Err("must not repeat a single character".into());
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if local.len() >= 4 && lowered.contains(&local) {
        return Err("must not contain your e-mail address".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn common_repeated_and_personal_passwords_are_refused() {
        assert!(super::check_new("Password123", "ada@example.com").is_err());
        assert!(super::check_new("qwertyuiop", "ada@example.com").is_err());
        assert!(super::check_new("xxxxxxxxxxxx", "ada@example.com").is_err());
        assert!(super::check_new("lovelace-rules-42", "lovelace@example.com").is_err());
        assert!(super::check_new("short", "ada@example.com").is_err());
        assert!(super::check_new("correct horse battery", "ada@example.com").is_ok());
    }

    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let phc = hash("correct horse battery staple").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify(&phc, "correct horse battery staple").await.unwrap());
        assert!(!verify(&phc, "Correct horse battery staple").await.unwrap());
        assert!(!verify("not a hash", "anything").await.unwrap());
    }

    #[tokio::test]
    async fn the_same_password_hashes_differently_each_time() {
        assert_ne!(hash("same").await.unwrap(), hash("same").await.unwrap());
    }
}
