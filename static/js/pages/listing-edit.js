/** Listing editor: details, status, versions, grants, and drag-and-drop uploads with progress. */

import { api, describeError } from "../api.js";
import { droppedFiles, formatSize, guessRole, uploadFile } from "../catalog/uploads.js";
import { bindForm, setStatus } from "../forms.js";
import { flash, mountLayout } from "../layout.js";

const STATUS = { draft: "Draft", published: "Published", unlisted: "Unlisted", archived: "Archived" };
const id = new URLSearchParams(window.location.search).get("id");
let listing = null;

function render() {
  document.title = `${listing.title} · Edit · Echoel`;
  document.getElementById("heading").textContent = listing.title;
  const status = document.getElementById("status");
  status.textContent = STATUS[listing.status] ?? listing.status;
  status.dataset.status = listing.status;
  document.getElementById("view-link").href = `/listing.html?id=${listing.id}`;
  const select = document.getElementById("version");
  const chosen = select.value;
  select.replaceChildren(
    ...listing.versions.map((v) => new Option(`${v.label}${v.published ? "" : " (not published)"}`, v.label)),
  );
  if (chosen && listing.versions.some((v) => v.label === chosen)) select.value = chosen;
  else select.value = listing.versions.at(-1)?.label ?? "";
  const rows = listing.versions.flatMap((v) =>
    v.files.map((f) => {
      const tr = document.createElement("tr");
      for (const text of [v.label, f.name, f.status === "ready" ? f.role : `${f.role} (${f.status})`, formatSize(f.size)]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
  document.getElementById("files").replaceChildren(...rows);
}

function fillDetails() {
  const form = document.getElementById("details-form");
  form.elements.title.value = listing.title;
  form.elements.description_md.value = listing.description_md ?? "";
  form.elements.synth.value = listing.synth;
  form.elements.tags.value = listing.tags.join(", ");
  form.elements.free_requires_login.checked = listing.free_requires_login;
}

async function reload() {
  listing = await api(`/api/v1/listings/${id}`);
  render();
}

function uploadRow(file) {
  const li = document.createElement("li");
  li.className = "upload-item";
  li.dataset.name = file.name;
  const name = document.createElement("span");
  name.textContent = `${file.name} · ${formatSize(file.size)}`;
  const note = document.createElement("span");
  note.className = "upload-note muted small";
  note.textContent = "Waiting…";
  const bar = document.createElement("progress");
  bar.max = file.size || 1;
  bar.value = 0;
  bar.setAttribute("aria-label", `Upload of ${file.name}`);
  li.append(name, note, bar);
  document.getElementById("uploads").append(li);
  return { li, note, bar };
}

async function uploadAll(files) {
  const version = document.getElementById("version").value;
  const wanted = document.getElementById("role").value;
  const rows = files.map((file) => [file, uploadRow(file)]);
  // One file at a time: each gets the whole connection, and the order is the drop order.
  for (const [file, row] of rows) {
    row.li.dataset.state = "uploading";
    row.note.textContent = "Uploading…";
    try {
      await uploadFile(file, {
        listingId: id,
        version,
        role: guessRole(file, wanted),
        onProgress: (sent, total) => {
          row.bar.value = sent;
          row.note.textContent = `${Math.floor((sent / (total || 1)) * 100)}%`;
        },
      });
      row.li.dataset.state = "done";
      row.note.textContent = "Uploaded and checked";
    } catch (err) {
      row.li.dataset.state = "error";
      row.note.textContent = err instanceof Error && !("status" in err) ? err.message : describeError(err);
    }
  }
  await reload();
}

function wireUploads() {
  const zone = document.getElementById("drop-zone");
  const input = document.getElementById("file-input");
  input.addEventListener("change", () => {
    const files = [...input.files];
    input.value = "";
    if (files.length) uploadAll(files);
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.dataset.over = "";
  });
  zone.addEventListener("dragleave", () => delete zone.dataset.over);
  zone.addEventListener("drop", async (event) => {
    event.preventDefault();
    delete zone.dataset.over;
    const files = await droppedFiles(event.dataTransfer);
    if (files.length) uploadAll(files);
  });
}

function wireForms() {
  const details = document.getElementById("details-form");
  bindForm(details, async (values) => {
    const tags = values.tags.split(",").map((t) => t.trim()).filter(Boolean);
    listing = await api(`/api/v1/listings/${id}`, {
      method: "PATCH",
      body: {
        title: values.title,
        description_md: values.description_md,
        synth: values.synth,
        tags,
        free_requires_login: details.elements.free_requires_login.checked,
      },
    });
    render();
    setStatus(details, "Saved.");
  });

  const versions = document.getElementById("version-form");
  bindForm(versions, async ({ label, changelog }) => {
    listing = await api(`/api/v1/listings/${id}/versions`, { method: "POST", body: { label, changelog } });
    render();
    document.getElementById("version").value = label;
    versions.reset();
    setStatus(versions, `Version ${label} added: drop its files above.`);
  });
  document.getElementById("publish-version").addEventListener("click", async () => {
    const label = document.getElementById("version").value;
    try {
      listing = await api(`/api/v1/listings/${id}/versions/${encodeURIComponent(label)}/publish`, { method: "POST" });
      render();
      setStatus(versions, `Version ${label} is published.`);
    } catch (err) {
      flash(describeError(err));
    }
  });

  const grant = document.getElementById("grant-form");
  bindForm(grant, async ({ handle }) => {
    await api(`/api/v1/listings/${id}/grants`, { method: "POST", body: { handle: handle.replace(/^@/, "") } });
    grant.reset();
    setStatus(grant, `@${handle.replace(/^@/, "")} can now download it.`);
  });

  const error = document.getElementById("status-error");
  document.querySelectorAll("#status-actions [data-status]").forEach((button) =>
    button.addEventListener("click", async () => {
      error.hidden = true;
      button.disabled = true;
      try {
        listing = await api(`/api/v1/listings/${id}/status`, { method: "POST", body: { status: button.dataset.status } });
        render();
      } catch (err) {
        error.textContent = describeError(err);
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    }),
  );
}

const account = await mountLayout();
document.getElementById("loading").hidden = true;
if (!account) {
  window.location.assign(`/login.html?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
} else {
  try {
    await reload();
    fillDetails();
    wireUploads();
    wireForms();
    // Shown only once wired: a file dropped or chosen earlier would be lost.
    document.getElementById("editor").hidden = false;
  } catch (err) {
    flash(describeError(err));
  }
}
