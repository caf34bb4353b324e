//! Choosing files (drag and drop or the file dialog) and uploading them to a ticket with a
//! progress bar. The upload uses XMLHttpRequest because `fetch` reports no upload progress;
//! it posts to the REST endpoint with the session cookie (same origin, so the CSRF check
//! passes).

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::icons::Icon;

/// A file chosen in the browser (`File` lives in the page and is not `Send`).
pub type ChosenFile = send_wrapper::SendWrapper<web_sys::File>;

/// The files chosen so far. Each file is wrapped rather than the whole list kept in a
/// `LocalStorage` signal: such a signal is created while the server renders the page, and
/// when its owner was dropped on another of the server's threads the render panicked
/// ("Dropped SendWrapper<T> variable from a thread different to the one it has been created
/// with") and the page never hydrated. On the server this list is always empty, so no
/// browser-only value ever exists there.
pub type ChosenFiles = RwSignal<Vec<ChosenFile>>;

/// The files of a file input or a drop.
pub fn file_list(list: Option<web_sys::FileList>) -> Vec<ChosenFile> {
    let Some(list) = list else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.get(i))
        .map(send_wrapper::SendWrapper::new)
        .collect()
}

/// A drop zone that collects files into `files`; they are listed with a way to remove each.
#[component]
pub fn FileDrop(files: ChosenFiles, #[prop(into)] hint: String) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let input = NodeRef::<leptos::html::Input>::new();
    let add = move |more: Vec<ChosenFile>| files.update(|f| f.extend(more));
    view! {
        <div
            class="drop-zone"
            class:dragging=move || dragging.get()
            data-test="drop-zone"
            on:dragover=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                dragging.set(false);
                add(file_list(ev.data_transfer().and_then(|d| d.files())));
            }
        >
            <Icon name="paperclip" />
            <p>
                <strong>"Drop files here"</strong>
                " or "
                <label class="link-button" for="file-input">"choose files"</label>
            </p>
            <p class="muted small">{hint}</p>
            <input
                node_ref=input
                id="file-input"
                class="visually-hidden"
                type="file"
                multiple
                on:change=move |_| {
                    if let Some(element) = input.get_untracked() {
                        add(file_list(element.files()));
                        element.set_value("");
                    }
                }
            />
        </div>
        <ul class="chosen-files" data-test="chosen-files">
            {move || {
                files
                    .get()
                    .into_iter()
                    .enumerate()
                    .map(|(index, file)| {
                        let label = format!("{} · {}", file.name(), domain::tickets::human_size(file.size() as u64));
                        view! {
                            <li>
                                <Icon name="paperclip" />
                                <span>{label}</span>
                                <button
                                    type="button"
                                    class="icon-button"
                                    aria-label=format!("Remove {}", file.name())
                                    on:click=move |_| files.update(|f| {
                                        if index < f.len() {
                                            f.remove(index);
                                        }
                                    })
                                >
                                    <Icon name="x" />
                                </button>
                            </li>
                        }
                    })
                    .collect_view()
            }}
        </ul>
    }
}

/// Uploads `files` to the ticket, reporting progress in percent; `done` gets `Ok` or the
/// server's message.
pub fn upload_files(
    ticket_id: i64,
    files: Vec<ChosenFile>,
    progress: RwSignal<Option<u32>>,
    done: impl FnOnce(Result<(), String>) + 'static,
) {
    upload_to(
        &format!("/api/v1/tickets/{ticket_id}/attachments/"),
        files,
        progress,
        move |result| done(result.map(|_| ())),
    );
}

/// Uploads `files` as multipart `file` parts to a REST endpoint of this site; `done` gets the
/// response's text or the server's message.
pub fn upload_to(
    url: &str,
    files: Vec<ChosenFile>,
    progress: RwSignal<Option<u32>>,
    done: impl FnOnce(Result<String, String>) + 'static,
) {
    let fail = |message: &str| Err(message.to_owned());
    let Ok(form) = web_sys::FormData::new() else {
        return done(fail("The browser cannot prepare the upload."));
    };
    for file in &files {
        if form
            .append_with_blob_and_filename("file", file, &file.name())
            .is_err()
        {
            return done(fail("The browser cannot read a chosen file."));
        }
    }
    let Ok(request) = web_sys::XmlHttpRequest::new() else {
        return done(fail("The browser cannot upload."));
    };
    if request.open("POST", url).is_err() {
        return done(fail("The browser cannot upload."));
    }
    request.set_with_credentials(true);
    if let Ok(upload) = request.upload() {
        let on_progress = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(
            move |event: web_sys::ProgressEvent| {
                if event.length_computable() && event.total() > 0.0 {
                    progress.set(Some((event.loaded() / event.total() * 100.0).round() as u32));
                }
            },
        );
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        on_progress.forget();
    }
    let finished = request.clone();
    let done = std::cell::RefCell::new(Some(done));
    let on_end = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
        let Some(done) = done.borrow_mut().take() else {
            return;
        };
        progress.set(None);
        let status = finished.status().unwrap_or(0);
        if (200..300).contains(&status) {
            done(Ok(finished
                .response_text()
                .ok()
                .flatten()
                .unwrap_or_default()));
        } else {
            let text = finished.response_text().ok().flatten().unwrap_or_default();
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| {
                    "The upload failed. Check your connection and try again.".to_owned()
                });
            done(Err(message));
        }
    });
    request.set_onloadend(Some(on_end.as_ref().unchecked_ref()));
    on_end.forget();
    progress.set(Some(0));
    if request.send_with_opt_form_data(Some(&form)).is_err() {
        progress.set(None);
    }
}

/// A progress bar for an upload in flight.
#[component]
pub fn UploadProgress(progress: RwSignal<Option<u32>>) -> impl IntoView {
    move || {
        progress.get().map(|percent| {
            view! {
                <div class="upload-progress" role="progressbar" aria-valuemin="0" aria-valuemax="100"
                    aria-valuenow=percent.to_string() aria-label="Upload progress">
                    <div class="upload-progress-bar" style=format!("width: {percent}%")></div>
                    <span class="small muted">{format!("Uploading… {percent}%")}</span>
                </div>
            }
        })
    }
}
