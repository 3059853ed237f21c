/* Trousse's page editor: a toolbar (EasyMDE, vendored from npm), a live preview rendered by the
 * server, uploads by drag and drop or paste, and drafts kept on the server while typing.
 *
 * Without JavaScript the form's plain text area does everything; this only adds to it. The
 * labels come from the page (#editor-strings, translated by the server), so the editor speaks
 * the interface's language. CodeMirror keeps the text as typed: untouched lines are sent back
 * byte for byte, so a saved edit changes in git only the lines the person changed.
 */
(function () {
  "use strict";

  var form = document.querySelector("form.editor");
  var textarea = form && form.querySelector("#markdown");
  var stringsNode = document.getElementById("editor-strings");
  if (!textarea || !stringsNode || typeof window.EasyMDE === "undefined") return;

  var strings = JSON.parse(stringsNode.textContent);
  var lang = document.documentElement.lang || "fr";
  var path = form.dataset.path || "";
  var isNew = form.dataset.new === "1";
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var baseInput = form.querySelector("input[name=base_revision]");
  var status = form.querySelector(".editor-status");
  // How long after the last keystroke the draft is saved; tests shorten it with data-draft-delay.
  function draftDelay() { return parseInt(form.dataset.draftDelay || "5000", 10); }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (whole, key) { return key in values ? values[key] : whole; });
  }
  function say(text) { status.textContent = text; }
  function encodePath(value) { return value.split("/").map(encodeURIComponent).join("/"); }
  function send(method, url, body, extra) {
    var headers = { "X-CSRFToken": csrf, Accept: "application/json" };
    if (body !== undefined && !(body instanceof Blob)) headers["Content-Type"] = "application/json";
    var init = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) init.body = body instanceof Blob ? body : JSON.stringify(body);
    if (body instanceof Blob) headers["Content-Type"] = body.type || "application/octet-stream";
    for (var key in extra || {}) init[key] = extra[key];
    return fetch(url, init);
  }
  function refusal(response) {
    return response.json().then(
      function (body) { return Promise.reject(body.message || response.statusText); },
      function () { return Promise.reject(response.statusText || String(response.status)); }
    );
  }

  // -- icons: drawn here, nothing fetched (EasyMDE would load Font Awesome from a CDN) --
  function svg(inner) {
    return '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">' + inner + "</svg>";
  }
  function stroke(d) {
    return svg('<path d="' + d + '" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>');
  }
  function letter(text, size, weight, italic) {
    return svg('<text x="12" y="18" text-anchor="middle" font-family="Georgia, serif" font-size="' + size +
      '" font-weight="' + weight + '"' + (italic ? ' font-style="italic"' : "") + ' fill="currentColor">' + text + "</text>");
  }
  function initial(label) { return label.charAt(0).toUpperCase(); }

  // -- the wiki-link dialog: titles completed from the pages of the wiki --
  var pageTitles = null;
  var dialog = null;
  function linkDialog(editor) {
    var cm = editor.codemirror;
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.className = "editor-dialog";
      dialog.setAttribute("aria-labelledby", "wikilink-label");
      dialog.innerHTML = '<form method="dialog"><label id="wikilink-label" for="wikilink-title"></label>' +
        '<input id="wikilink-title" list="wikilink-pages" autocomplete="off">' +
        '<datalist id="wikilink-pages"></datalist><div class="form-actions">' +
        '<button value="insert" class="primary"></button><button value="cancel" formnovalidate></button></div></form>';
      dialog.querySelector("label").textContent = strings.pageTitle;
      dialog.querySelector("button[value=insert]").textContent = strings.insert;
      dialog.querySelector("button[value=cancel]").textContent = strings.cancel;
      document.body.appendChild(dialog);
      dialog.addEventListener("close", function () {
        var title = dialog.querySelector("input").value.trim().replace(/[\[\]|]/g, "");
        if (dialog.returnValue === "insert" && title) {
          var label = cm.getSelection().replace(/[\[\]|\n]/g, " ").trim();
          cm.replaceSelection("[[" + title + (label && label !== title ? "|" + label : "") + "]]");
        }
        cm.focus();
      });
    }
    if (pageTitles === null) {
      pageTitles = [];
      fetch("/api/v1/pages", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { pages: [] }; })
        .then(function (body) {
          var list = dialog.querySelector("datalist");
          body.pages.forEach(function (page) {
            var option = document.createElement("option");
            option.value = page.title;
            option.label = page.path;
            list.appendChild(option);
          });
        });
    }
    var input = dialog.querySelector("input");
    input.value = cm.getSelection().split("\n")[0];
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  }

  // -- uploads: the file goes to the page's folder, then a link to it goes into the text --
  var picker = document.createElement("input");
  picker.type = "file";
  picker.multiple = true;
  picker.hidden = true;
  picker.setAttribute("aria-hidden", "true");
  picker.tabIndex = -1;
  form.appendChild(picker);

  function fileName(original) {
    var dot = original.lastIndexOf(".");
    var stem = dot > 0 ? original.slice(0, dot) : original;
    var extension = dot > 0 ? original.slice(dot + 1).toLowerCase() : "";
    var slug = stem.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "document";
    if (slug === "image") slug = "image-" + new Date().toISOString().slice(0, 19).replace(/[^0-9]/g, "");
    return extension ? slug + "." + extension : slug;
  }

  // A page not saved yet has no folder: its documents wait on the server for this account, are
  // shown in the preview from there, and are attached by the first save, in the same commit.
  var pendingList = document.querySelector(".pending-files");
  function listPending(name, size) {
    if (!pendingList) return;
    Array.prototype.forEach.call(pendingList.querySelectorAll("button[value]"), function (button) {
      if (button.value === name) button.parentNode.remove();
    });
    var item = document.createElement("li");
    var label = document.createElement("span");
    label.className = "pending-name";
    label.textContent = name;
    var remove = document.createElement("button");
    remove.type = "submit";
    remove.setAttribute("form", "editor-form");
    remove.name = "remove_pending";
    remove.value = name;
    remove.formNoValidate = true;
    remove.textContent = fill(strings.notAttached, { name: name });
    item.append(label, " (" + Math.max(1, Math.round(size / 1024)) + " ko) ", remove);
    pendingList.appendChild(item);
    pendingList.hidden = false;
  }

  function upload(cm, file) {
    var original = file.name || "image.png";
    var name = fileName(original);
    var url = (isNew ? "/api/v1/draft-files/" : "/api/v1/files/") + encodePath(path) + "/" + encodeURIComponent(name);
    say(fill(strings.uploading, { name: name }));
    send("PUT", url, file)
      .then(function (response) { return response.ok ? response : refusal(response); })
      .then(function () {
        var label = original.replace(/\.[^.]*$/, "").replace(/[\[\]]/g, "") || name;
        var image = /^image\//.test(file.type);
        cm.replaceSelection((image ? "!" : "") + "[" + label + "](" + name + ")");
        if (isNew) listPending(name, file.size);
        say(fill(isNew ? strings.pendingAdded : strings.uploaded, { name: name }));
        cm.focus();
      })
      .catch(function (reason) { say(fill(strings.uploadFailed, { name: name, reason: String(reason) })); });
  }

  function attach(editor) {
    picker.onchange = function () {
      Array.prototype.forEach.call(picker.files, function (file) { upload(editor.codemirror, file); });
      picker.value = "";
    };
    picker.click();
  }

  var E = window.EasyMDE;
  var toolbar = [
    { name: "bold", action: E.toggleBold, title: strings.bold, icon: letter(initial(strings.bold), 17, 700) },
    { name: "italic", action: E.toggleItalic, title: strings.italic, icon: letter(initial(strings.italic), 17, 400, true) },
    { name: "heading-2", action: E.toggleHeading2, title: strings.heading2, icon: letter(initial(strings.heading2), 18, 700) },
    { name: "heading-3", action: E.toggleHeading3, title: strings.heading3, icon: letter(initial(strings.heading3), 13, 700) },
    "|",
    { name: "unordered-list", action: E.toggleUnorderedList, title: strings.bullets,
      icon: stroke("M9 6h11M9 12h11M9 18h11M4 6h.01M4 12h.01M4 18h.01") },
    { name: "ordered-list", action: E.toggleOrderedList, title: strings.numbers,
      icon: stroke("M10 6h10M10 12h10M10 18h10M4 4h1v5M4 9h2M4 15h2v2H4v2h2") },
    { name: "quote", action: E.toggleBlockquote, title: strings.quote, icon: letter("\u201C", 26, 700) },
    "|",
    { name: "wikilink", action: linkDialog, title: strings.wikilink, icon: letter("[[ ]]", 10, 700) },
    { name: "link", action: E.drawLink, title: strings.weblink,
      icon: stroke("M10 14a4 4 0 0 0 6 0l3-3a4 4 0 0 0-6-6l-1 1M14 10a4 4 0 0 0-6 0l-3 3a4 4 0 0 0 6 6l1-1") },
    { name: "table", action: E.drawTable, title: strings.table, icon: stroke("M3 5h18v14H3zM3 10h18M3 15h18M12 5v14") },
    { name: "attach", action: attach, title: strings.attach,
      icon: stroke("M20 11l-8 8a5 5 0 0 1-7-7l8-8a3.5 3.5 0 0 1 5 5l-8 8a2 2 0 0 1-3-3l7-7") },
    "|",
    { name: "undo", action: E.undo, title: strings.undo, icon: stroke("M9 14L4 9l5-5M4 9h10a6 6 0 0 1 0 12h-3") },
    { name: "redo", action: E.redo, title: strings.redo, icon: stroke("M15 14l5-5-5-5M20 9H10a6 6 0 0 0 0 12h3") },
  ];

  var mde = new E({
    element: textarea,
    toolbar: toolbar,
    autoDownloadFontAwesome: false,
    spellChecker: false,
    nativeSpellcheck: true,
    inputStyle: "textarea",
    forceSync: true,
    status: false,
    autosave: undefined,
    promptURLs: true,
    promptTexts: { link: strings.linkPrompt, image: strings.imagePrompt },
    insertTexts: { table: ["", "\n\n" + strings.tableText + "\n"] },
    previewImagesInEditor: false,
    unorderedListStyle: "-",
    minHeight: "18rem",
    shortcuts: {
      toggleBold: "Cmd-B", toggleItalic: "Cmd-I", toggleHeading2: "Cmd-Alt-2", toggleHeading3: "Cmd-Alt-3",
      toggleUnorderedList: "Cmd-L", toggleOrderedList: "Cmd-Alt-L", toggleBlockquote: "Cmd-'",
      drawLink: "Cmd-K", wikilink: "Shift-Cmd-K", drawTable: "Cmd-Alt-T", attach: "Shift-Cmd-U",
      toggleHeadingSmaller: null, toggleCodeBlock: null, drawImage: null, togglePreview: null,
      toggleSideBySide: null, toggleFullScreen: null, cleanBlock: null,
    },
  });
  var cm = mde.codemirror;
  var original = mde.value();

  // The new-page editor's own file input (it posts with the form without JavaScript): here a chosen
  // file goes up at once and is linked where the cursor is, like the toolbar's button does.
  var fileInput = isNew ? document.getElementById("upload-file") : null;
  if (fileInput) {
    fileInput.multiple = true;
    var addButton = document.querySelector("button[name=action][value=attach]");
    if (addButton) addButton.hidden = true;
    fileInput.addEventListener("change", function () {
      Array.prototype.forEach.call(fileInput.files, function (file) { upload(cm, file); });
      fileInput.value = "";
    });
  }

  // Accessibility: the text gets the form's label; Tab leaves the editor (no keyboard trap);
  // the toolbar is reachable by keyboard; the label focuses the editor.
  var labelNode = form.querySelector("label[for=markdown]");
  cm.setOption("screenReaderLabel", labelNode ? labelNode.textContent : strings.toolbar);
  var keys = Object.assign({}, cm.getOption("extraKeys"));
  keys.Tab = false; // false: CodeMirror leaves the key to the browser, which moves the focus on
  keys["Shift-Tab"] = false;
  cm.setOption("extraKeys", keys);
  if (labelNode) labelNode.addEventListener("click", function () { cm.focus(); });
  var bar = form.querySelector(".editor-toolbar");
  if (bar) {
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", strings.toolbar);
    bar.setAttribute("aria-controls", "editor-write");
    Array.prototype.forEach.call(bar.querySelectorAll("button"), function (button) {
      button.tabIndex = 0;
      button.type = "button";
    });
    Array.prototype.forEach.call(bar.querySelectorAll("i.separator"), function (sep) { sep.setAttribute("aria-hidden", "true"); });
  }

  // -- live preview: beside the text on a wide screen, behind a tab on a phone --
  var area = form.querySelector(".editor-area");
  var live = area.querySelector(".editor-live");
  var liveContent = live.querySelector(".page-content");
  var tabs = area.querySelector(".editor-tabs");
  var tabButtons = tabs.querySelectorAll("[role=tab]");
  area.classList.add("wide");
  tabs.hidden = false;
  live.hidden = false;
  // The live preview replaces the form's preview button (kept for browsers without JavaScript):
  // one way to see the preview, a tab on a phone, beside the text on a wide screen.
  var previewButton = form.querySelector("button[type=submit][value=preview]");
  if (previewButton) previewButton.hidden = true;
  live.setAttribute("role", "tabpanel");
  live.setAttribute("aria-labelledby", "editor-tab-preview");
  live.tabIndex = 0; // a long preview scrolls: keyboard users reach and scroll it too
  var writePanel = area.querySelector(".editor-write");
  writePanel.setAttribute("role", "tabpanel");
  writePanel.setAttribute("aria-labelledby", "editor-tab-write");

  var previewTimer = null;
  var previewShown = null;
  function previewVisible() { return live.offsetParent !== null; }
  function refreshPreview() {
    if (!previewVisible()) return;
    var text = mde.value();
    if (text === previewShown) return;
    previewShown = text;
    live.setAttribute("aria-busy", "true");
    send("POST", "/api/v1/preview", { path: path, markdown: text })
      .then(function (response) { return response.ok ? response.json() : refusal(response); })
      .then(function (body) {
        if (previewShown === text) liveContent.innerHTML = body.html;
        live.removeAttribute("aria-busy");
      })
      .catch(function () { previewShown = null; live.removeAttribute("aria-busy"); say(strings.previewFailed); });
  }
  function schedulePreview(delay) {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(refreshPreview, delay);
  }
  function show(view, focus) {
    area.dataset.view = view;
    Array.prototype.forEach.call(tabButtons, function (tab) {
      var selected = tab.id === "editor-tab-" + view;
      tab.setAttribute("aria-selected", selected ? "true" : "false");
      tab.tabIndex = selected ? 0 : -1;
      if (selected && focus) tab.focus();
    });
    if (view === "write") cm.refresh();
    schedulePreview(0);
  }
  Array.prototype.forEach.call(tabButtons, function (tab, index) {
    tab.addEventListener("click", function () { show(tab.id.replace("editor-tab-", ""), false); });
    tab.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      var next = tabButtons[(index + 1) % tabButtons.length];
      show(next.id.replace("editor-tab-", ""), true);
      event.preventDefault();
    });
  });
  window.addEventListener("resize", function () { schedulePreview(200); });
  schedulePreview(0);

  // -- drag and drop, paste: documents and images go up, a link comes into the text --
  function filesOf(transfer) { return transfer && transfer.files && transfer.files.length ? transfer.files : null; }
  cm.on("drop", function (instance, event) {
    var files = filesOf(event.dataTransfer);
    if (!files) return;
    event.preventDefault();
    instance.setCursor(instance.coordsChar({ left: event.clientX, top: event.clientY }, "window"));
    Array.prototype.forEach.call(files, function (file) { upload(instance, file); });
  });
  cm.on("paste", function (instance, event) {
    var files = filesOf(event.clipboardData);
    if (!files) return;
    event.preventDefault();
    Array.prototype.forEach.call(files, function (file) { upload(instance, file); });
  });

  // -- drafts: saved on the server a few seconds after the last change, for this account --
  var draftUrl = "/api/v1/drafts/" + encodePath(path);
  var draftState = document.createElement("span");
  draftState.className = "draft-state";
  status.parentNode.insertBefore(draftState, status);
  var draftTimer = null;
  var changed = false;
  var leaving = false;

  // The fiche form's inputs go into the draft too (not the hidden "champ-initial-" ones, which say
  // what the form showed when it opened: the server compares them to know what the person changed).
  var ficheForm = form.querySelector(".fiche-form");
  function ficheInputs() {
    return ficheForm ? Array.prototype.filter.call(ficheForm.querySelectorAll("input[name], select[name], textarea[name]"),
      function (input) { return input.type !== "hidden" && input.name.indexOf("champ-") === 0; }) : [];
  }
  function ficheFields() {
    var values = {};
    ficheInputs().forEach(function (input) {
      values[input.name] = input.type === "checkbox" ? (input.checked ? input.value : "") : input.value;
    });
    return values;
  }
  function putFields(values) {
    ficheInputs().forEach(function (input) {
      if (!(input.name in values)) return;
      if (input.type === "checkbox") input.checked = values[input.name] !== "";
      else input.value = values[input.name];
    });
  }
  function currentState() { return JSON.stringify([mde.value(), ficheFields()]); }
  var originalState = currentState();
  var lastDrafted = originalState;

  function saveDraft(keepalive) {
    var state = currentState();
    if (state === lastDrafted) return;
    lastDrafted = state;
    var text = mde.value();
    var body = { markdown: text, base_revision: baseInput.value || null, fields: ficheFields() };
    send("PUT", draftUrl, body, keepalive ? { keepalive: true } : {})
      .then(function (response) { return response.ok ? response.json() : refusal(response); })
      .then(function (body) {
        var time = new Date(body.saved).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
        draftState.textContent = fill(strings.draftSaved, { time: time });
      })
      .catch(function () { lastDrafted = null; draftState.textContent = strings.draftFailed; });
  }
  cm.on("changes", function () {
    changed = mde.value() !== original;
    schedulePreview(400);
    clearTimeout(draftTimer);
    draftTimer = setTimeout(saveDraft, draftDelay());
  });
  function ficheChanged(event) {
    if (!ficheForm || !ficheForm.contains(event.target)) return;
    changed = true;
    clearTimeout(draftTimer);
    draftTimer = setTimeout(saveDraft, draftDelay());
  }
  form.addEventListener("input", function (event) { if (!cm.getWrapperElement().contains(event.target)) changed = true; });
  form.addEventListener("input", ficheChanged);
  form.addEventListener("change", ficheChanged);
  form.addEventListener("submit", function () { leaving = true; clearTimeout(draftTimer); });
  window.addEventListener("beforeunload", function (event) {
    if (!changed || leaving) return;
    event.preventDefault();
    event.returnValue = "";
  });
  window.addEventListener("pagehide", function () { if (changed && !leaving) saveDraft(true); });

  var offer = document.querySelector(".draft-offer");
  if (offer) {
    fetch(draftUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (draft) {
        if (!draft) return;
        var fields = draft.fields || {};
        var same = draft.markdown === mde.value() && Object.keys(fields).every(function (name) {
          return ficheFields()[name] === undefined || ficheFields()[name] === fields[name];
        });
        if (same && !(draft.files || []).length) {
          send("DELETE", draftUrl);
          return;
        }
        offer.hidden = false;
        offer.querySelector("[data-draft=restore]").addEventListener("click", function () {
          mde.value(draft.markdown);
          putFields(fields);
          if (draft.base_revision) baseInput.value = draft.base_revision;
          lastDrafted = currentState();
          changed = lastDrafted !== originalState;
          offer.hidden = true;
          cm.focus();
        });
        offer.querySelector("[data-draft=discard]").addEventListener("click", function () {
          send("DELETE", draftUrl);  // its waiting documents go with it
          if (pendingList) { pendingList.textContent = ""; pendingList.hidden = true; }
          offer.hidden = true;
          cm.focus();
        });
      });
  }

  window.trousseEditor = mde;
})();
