//! Browser tests of identity and access: setting up an authenticator app and signing in with
//! it, a forgotten password, and the administration pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

use harness::{Browser, DEMO_PASSWORD, Tts, screenshot_all_sizes};

/// The code an authenticator app would show now for this base32 secret.
fn totp_code(secret: &str) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.replace(' ', ""))
        .to_bytes()
        .unwrap();
    let totp = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        None,
        "e2e".into(),
    )
    .unwrap();
    totp.generate_current().unwrap()
}

#[tokio::test]
async fn an_employee_sets_up_an_authenticator_app_and_signs_in_with_it() {
    let tts = Tts::start().await;
    let browser = Browser::open(1280, 900).await;
    browser.sign_in(&tts, "employee@example.com").await;
    browser.goto(&tts.url("/account/security")).await;
    browser.wait_hydrated().await;
    screenshot_all_sizes(&browser, &tts, "/account/security", "account-security").await;
    screenshot_all_sizes(&browser, &tts, "/account", "account-profile").await;

    browser.goto(&tts.url("/account/security")).await;
    browser.wait_hydrated().await;
    browser
        .click_until(
            "[data-test=setup-totp]",
            "document.querySelector('[data-test=totp-secret]') !== null",
        )
        .await;
    let secret = browser.text("[data-test=totp-secret]").await;
    assert!(
        browser.find(".qr svg").await.is_displayed().await.unwrap(),
        "the QR code shows"
    );
    browser
        .save_screenshot("account-security-totp-setup-light-desktop")
        .await;
    browser.fill("#totp_code", &totp_code(&secret)).await;
    // Adding a factor asks for the password (a borrowed session cannot add one).
    browser.fill("#totp_password", DEMO_PASSWORD).await;
    browser.click(".setup button[type=submit]").await;
    let codes = browser
        .wait_for_text("[data-test=recovery-codes]", "-")
        .await;
    assert_eq!(
        codes.lines().filter(|l| !l.trim().is_empty()).count(),
        10,
        "{codes}"
    );
    browser
        .save_screenshot("account-security-recovery-codes-light-desktop")
        .await;
    browser
        .wait_for_text(".status-line", "Authenticator app")
        .await;

    // Sign out, then in: the password is not enough any more.
    browser.click(".user-menu > summary").await;
    browser.click(".user-menu button[type=submit]").await;
    browser.wait_for("#email").await;
    browser.wait_hydrated().await;
    browser.fill("#email", "employee@example.com").await;
    browser.fill("#password", DEMO_PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_for("#code").await;
    browser
        .save_screenshot("sign-in-code-step-light-desktop")
        .await;
    browser.fill("#code", &totp_code(&secret)).await;
    browser.click("button[type=submit].button-primary").await;
    browser
        .wait_for_text(".page-title", "Welcome back, Emma")
        .await;

    // Signing out afterwards starts again at the password, not at a stale code step.
    browser.click(".user-menu > summary").await;
    browser.click(".user-menu button[type=submit]").await;
    browser.wait_for("#password").await;
    assert!(
        browser
            .find_all(fantoccini::Locator::Css("#code"))
            .await
            .is_empty()
    );
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_the_mailed_link() {
    let tts = Tts::start().await;
    let browser = Browser::open(1280, 860).await;
    browser.goto(&tts.url("/login")).await;
    browser.wait_hydrated().await;
    browser.click("a[href='/forgot-password']").await;
    browser.wait_for("#email").await;
    browser.wait_hydrated().await;
    screenshot_all_sizes(&browser, &tts, "/forgot-password", "forgot-password").await;
    browser.fill("#email", "agent@example.com").await;
    browser.click("button[type=submit]").await;
    browser.wait_for_text(".notice-success", "on its way").await;

    let mail = tts
        .wait_for_mail("agent@example.com", "Reset your TTS password")
        .await;
    let start = mail.find("/reset-password?token=").unwrap();
    let path: String = mail[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    browser.goto(&tts.url(&path)).await;
    browser.wait_hydrated().await;
    browser
        .save_screenshot("reset-password-light-desktop")
        .await;
    browser.fill("#new_password", "short").await;
    browser.fill("#confirm_password", "short").await;
    browser.click("button[type=submit]").await;
    browser
        .wait_for_text(".field-error", "at least 10 characters")
        .await;
    browser
        .fill("#new_password", "a fresh long passphrase")
        .await;
    browser
        .fill("#confirm_password", "a fresh long passphrase")
        .await;
    browser.click("button[type=submit]").await;
    browser
        .wait_for_text(".notice-success", "password is set")
        .await;
    browser.fill("#email", "agent@example.com").await;
    browser.fill("#password", "a fresh long passphrase").await;
    browser.click("button[type=submit]").await;
    browser
        .wait_for_text(".page-title", "Welcome back, Alex")
        .await;
    browser.assert_no_console_errors_except(&[400]).await;
    browser.close().await;
}

#[tokio::test]
async fn an_admin_creates_a_user_a_workflow_role_and_an_api_key() {
    let tts = Tts::start().await;
    let browser = Browser::open(1280, 900).await;
    browser.sign_in(&tts, "admin@example.com").await;

    browser.goto(&tts.url("/admin/users")).await;
    browser.wait_hydrated().await;
    screenshot_all_sizes(&browser, &tts, "/admin/users", "admin-users").await;
    browser
        .click_until(
            "[data-test=new-user]",
            "document.querySelector('#new_email') !== null",
        )
        .await;
    browser.fill("#new_email", "grace@example.com").await;
    browser.fill("#new_full_name", "Grace Hopper").await;
    browser.fill("#new_password", "navy admiral compiler").await;
    browser
        .save_screenshot("admin-users-create-light-desktop")
        .await;
    browser.click(".inset-panel button[type=submit]").await;
    browser.wait_for_text("table", "grace@example.com").await;

    // Search narrows the list (a GET form: the address says what is shown).
    browser.goto(&tts.url("/admin/users?q=grace")).await;
    browser.wait_hydrated().await;
    let rows = browser
        .eval("return String(document.querySelectorAll('tbody tr').length)")
        .await;
    assert_eq!(rows, "1");
    browser.click("tbody a").await;
    browser.wait_for_text(".user-heading", "Grace Hopper").await;
    browser.wait_hydrated().await;
    browser.save_screenshot("admin-user-light-desktop").await;

    browser.goto(&tts.url("/admin/roles")).await;
    browser.wait_hydrated().await;
    browser.fill("#role_name", "IT Support L1").await;
    browser
        .fill(
            "#role_description",
            "First line: accounts, laptops, printers",
        )
        .await;
    browser
        .click("section[aria-labelledby=new-role-title] button[type=submit]")
        .await;
    browser.wait_for_text(".role-list", "IT Support L1").await;
    screenshot_all_sizes(&browser, &tts, "/admin/roles", "admin-roles").await;
    browser.click(".role-link").await;
    browser.wait_for("#member_user").await;
    browser.wait_hydrated().await;
    let option = browser.eval("return [...document.querySelectorAll('#member_user option')].find(o => o.textContent.includes('Grace')).value").await;
    browser
        .eval(&format!(
            "document.getElementById('member_user').value = '{option}'; return ''"
        ))
        .await;
    browser.click(".inline-form button[type=submit]").await;
    browser.wait_for_text(".device-list", "Grace Hopper").await;
    browser.save_screenshot("admin-role-light-desktop").await;

    browser.goto(&tts.url("/admin/api-keys")).await;
    browser.wait_hydrated().await;
    browser.fill("#key_name", "Help desk").await;
    browser.click("input[name=tickets_submit]").await;
    browser
        .click("section[aria-labelledby=new-key-title] button[type=submit]")
        .await;
    let key = browser
        .wait_for_text("[data-test=new-api-key]", "tts_")
        .await;
    browser
        .save_screenshot("admin-api-keys-light-desktop")
        .await;
    // The key works against the API.
    let response = reqwest::Client::new()
        .get(tts.url("/api/v1/users/"))
        .header("x-api-key", key.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "tickets:submit does not read users");
    screenshot_all_sizes(&browser, &tts, "/admin/security", "admin-security").await;

    // The helpdesk's reference data: the demo categories, and a new one added in place.
    browser.goto(&tts.url("/admin/helpdesk")).await;
    browser.wait_hydrated().await;
    browser
        .wait_for_text("[data-test=categories]", "Hardware")
        .await;
    browser
        .fill("#new_category_name", "Facilities requests")
        .await;
    browser
        .click("[data-test=new-category] button[type=submit]")
        .await;
    browser
        .wait_for_text("[data-test=categories]", "Facilities requests")
        .await;
    screenshot_all_sizes(&browser, &tts, "/admin/helpdesk", "admin-helpdesk").await;
    browser.assert_no_console_errors().await;
    browser.close().await;
}
