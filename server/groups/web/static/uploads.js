// Attaching a file (or a recorded voice message) in the open group, with a progress bar; an upload cut off by a
// reload is offered again: picking the same file resumes it (the platform's tus client, /static/files.js).

import { show, showMessage } from "/static/dom.js";
import { uploadFile, unfinishedUploads } from "/static/files.js";
import { t } from "/static/i18n.js";
import { $, groupPath } from "./state.js";

const createPath = () => groupPath("/uploads");

function setProgress(percent) {
  $("upload-progress").value = percent;
  $("upload-percent").textContent = `${Math.round(percent)}%`;
}

/** Says which uploads of this group were not finished, so the person picks them again. */
export function showUnfinished() {
  const names = unfinishedUploads(createPath()).map((u) => u.name);
  showMessage($("resume-note"), names.length ? t("groups.upload.resume", { names: names.join(", ") }) : "");
}

export async function upload(file) {
  show($("upload"), true);
  $("upload-name").textContent = file.name;
  showMessage($("composer-error"), "");
  try {
    await uploadFile(createPath(), file, { onProgress: setProgress });
  } catch (error) {
    showMessage($("composer-error"), error.message);
  }
  showUnfinished();
}

export function setUpUploads() {
  $("file-input").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (file) await upload(file);
  });
}
