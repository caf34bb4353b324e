//! Hydrates the server-rendered page: the WebAssembly takes over the HTML in place.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Waits for the current page's WebAssembly chunk (see app::page_groups) before hydrating.
    leptos::mount::hydrate_lazy(app::App);
}
