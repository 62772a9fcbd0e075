//! Acting in the page as a user does: click, type, press keys, pick dates, read values and
//! the clipboard (the rest of `Browser` is in `driver.rs`).

use thirtyfour::prelude::*;

use crate::driver::{Browser, POLL, WAIT, xpath_literal};

impl Browser {
    pub async fn click_testid(&self, id: &str) {
        let el = self.testid(id).await;
        self.click(&el).await;
    }

    pub async fn click(&self, el: &WebElement) {
        el.wait_until()
            .wait(WAIT, POLL)
            .clickable()
            .await
            .unwrap_or_else(|e| panic!("not clickable: {e}"));
        el.click().await.unwrap();
    }

    /// Clears the field labelled `label` and types `text` into it.
    pub async fn fill(&self, label: &str, text: &str) {
        let el = self.field(label).await;
        el.clear().await.unwrap();
        if !text.is_empty() {
            el.send_keys(text).await.unwrap();
        }
    }

    /// Picks the option whose visible text starts with `text` in the select labelled `label`.
    pub async fn choose(&self, label: &str, text: &str) {
        let select = self.field(label).await;
        let xpath = format!(
            ".//option[starts-with(normalize-space(.), {})]",
            xpath_literal(text)
        );
        let option = select.find(By::XPath(xpath)).await.unwrap();
        option.click().await.unwrap();
    }

    pub async fn value(&self, el: &WebElement) -> String {
        el.prop("value").await.unwrap().unwrap_or_default()
    }

    pub async fn text(&self, el: &WebElement) -> String {
        el.text().await.unwrap().trim().to_string()
    }

    /// The element that has keyboard focus.
    pub async fn focused(&self) -> WebElement {
        self.driver.active_element().await.unwrap()
    }

    pub async fn press(&self, key: Key) {
        self.driver
            .action_chain()
            .send_keys(key)
            .perform()
            .await
            .unwrap();
    }

    pub async fn press_shift_tab(&self) {
        self.driver
            .action_chain()
            .key_down(Key::Shift)
            .send_keys(Key::Tab)
            .key_up(Key::Shift)
            .perform()
            .await
            .unwrap();
    }

    /// Types into whatever has focus.
    pub async fn type_text(&self, text: &str) {
        self.driver
            .action_chain()
            .send_keys(text)
            .perform()
            .await
            .unwrap();
    }

    /// Tabs forward until the element with `data-testid=id` has focus.
    pub async fn tab_to(&self, id: &str, max: usize) {
        for _ in 0..max {
            if self.focused_testid().await == id {
                return;
            }
            self.press(Key::Tab).await;
        }
        assert_eq!(self.focused_testid().await, id, "Tab never reached {id}");
    }

    /// The `data-testid` of the focused element ("" when it has none).
    pub async fn focused_testid(&self) -> String {
        self.focused()
            .await
            .attr("data-testid")
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    pub async fn focus_in_dialog(&self) -> bool {
        self.script_bool("var d = document.querySelector('dialog[open]'); return !!d && d.contains(document.activeElement);")
            .await
    }

    /// Types a date and time into a `datetime-local` field, segment by segment, as a user
    /// does (Chromium's en-US format: month, day, year, hour, minute, AM/PM).
    pub async fn type_date(&self, label: &str, iso: &str) {
        let (date, time) = iso.split_once('T').unwrap();
        let mut d = date.split('-');
        let (year, month, day) = (d.next().unwrap(), d.next().unwrap(), d.next().unwrap());
        let (hour, minute) = time.split_once(':').unwrap();
        let hour: u32 = hour.parse().unwrap();
        let (h12, meridiem) = match hour {
            0 => (12, "AM"),
            1..=11 => (hour, "AM"),
            12 => (12, "PM"),
            _ => (hour - 12, "PM"),
        };
        let el = self.field(label).await;
        // Tab moves from the date part to the time part inside the field.
        el.send_keys(format!("{month}{day}{year}\t{h12:02}{minute}{meridiem}"))
            .await
            .unwrap();
    }

    // --- page state the journeys check -------------------------------------------------------

    pub async fn script_bool(&self, script: &str) -> bool {
        self.driver
            .execute(script, vec![])
            .await
            .unwrap()
            .json()
            .as_bool()
            .unwrap_or(false)
    }

    /// What sticks out of the window on the right, for a failed "no sideways scroll" check:
    /// the deepest elements that end past it, as `tag.class (right edge)`.
    pub async fn overflowing(&self) -> String {
        let script = "return Array.from(document.querySelectorAll('body *')).filter(function (e) { \
            var r = e.getBoundingClientRect(); return r.right > window.innerWidth + 0.5 && r.width > 0 \
            && !Array.from(e.children).some(function (c) { return c.getBoundingClientRect().right > window.innerWidth + 0.5; }); }) \
            .slice(0, 8).map(function (e) { return e.tagName.toLowerCase() + '.' + e.className + ' (' + Math.round(e.getBoundingClientRect().right) + ')'; }).join(', ');";
        self.driver
            .execute(script, vec![])
            .await
            .ok()
            .and_then(|r| r.json().as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// Marks the current document; `marker_survived` tells whether it is still the same one
    /// (that is, the page did not reload).
    pub async fn mark_document(&self) {
        self.driver
            .execute("window.__m2mNoReload = true;", vec![])
            .await
            .unwrap();
    }

    pub async fn marker_survived(&self) -> bool {
        self.script_bool("return window.__m2mNoReload === true;")
            .await
    }

    /// What the last copy button put on the clipboard, or, where headless Chromium keeps the
    /// clipboard closed, the text it selected instead.
    pub async fn copied_text(&self) -> String {
        let script = r#"
            var done = arguments[arguments.length - 1];
            var selected = String(window.getSelection());
            if (!navigator.clipboard || !navigator.clipboard.readText) { done(selected); return; }
            navigator.clipboard.readText().then(function (t) { done(t || selected); }, function () { done(selected); });
        "#;
        // The button reports "Copied" or selects the text asynchronously.
        let mut text = String::new();
        self.wait_until("the copy to finish", async || {
            text = self
                .driver
                .execute_async(script, vec![])
                .await
                .ok()
                .and_then(|r| r.json().as_str().map(str::to_string))
                .unwrap_or_default();
            !text.is_empty()
        })
        .await;
        text.trim().to_string()
    }

    // --- checking ----------------------------------------------------------------------------
}
