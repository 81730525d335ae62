// kontinue web UI: live updates, lazy trees and form checks on top of pages that work without it.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function banner(el, text) {
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }

  // Times: ISO timestamps are shown in the browser's time zone.
  function localTimes(root) {
    for (const t of $$("time[datetime]", root)) {
      const iso = t.getAttribute("datetime");
      if (!iso) continue;
      const when = new Date(iso);
      if (isNaN(when)) continue;
      t.title = when.toLocaleString();
      if (t.textContent.trim() === iso) t.textContent = when.toLocaleString();
    }
  }

  // JSON text areas say when they do not hold JSON, before the form is sent.
  function checkJson(area) {
    const text = area.value.trim();
    let problem = "";
    if (text) {
      try { JSON.parse(text); } catch (e) { problem = "Not valid JSON: " + e.message; }
    }
    area.setCustomValidity(problem);
    area.setAttribute("aria-invalid", problem ? "true" : "false");
    const raw = area.hasAttribute("data-raw");
    if (raw && area.form) area.form.noValidate = text !== "";
  }

  function enhance(root) {
    localTimes(root);
    for (const area of $$("textarea[data-json]", root)) {
      area.addEventListener("input", () => checkJson(area));
      checkJson(area);
    }
    for (const form of $$("form[data-confirm]", root)) {
      form.addEventListener("submit", (event) => {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    }
    for (const button of $$("button.copy[data-copy]", root)) {
      button.addEventListener("click", () => {
        const source = document.getElementById(button.getAttribute("data-copy"));
        if (source && navigator.clipboard) {
          navigator.clipboard.writeText(source.textContent).then(() => {
            button.textContent = "Copied";
            setTimeout(() => { button.textContent = "Copy"; }, 1500);
          });
        }
      });
    }
  }

  // Executions list: select all, confirm bulk actions, live rows.
  function executionsList() {
    const table = $("#executions");
    if (!table) return;
    const all = $("[data-select-all]", table);
    if (all) {
      all.addEventListener("change", () => {
        for (const box of $$("tbody input[name=name]", table)) box.checked = all.checked;
      });
    }
    const bulk = $("#bulk");
    if (bulk) {
      bulk.addEventListener("submit", (event) => {
        const action = event.submitter ? event.submitter.value : "";
        const count = $$("tbody input[name=name]:checked", table).length;
        if (!count) {
          event.preventDefault();
          window.alert("Select executions first.");
        } else if (action === "cancel" && !window.confirm("Cancel " + count + " execution(s)?")) {
          event.preventDefault();
        }
      });
    }
    const url = table.getAttribute("data-live");
    if (!url || !window.EventSource) return;
    const note = $("#live-banner");
    let added = 0;
    const source = new EventSource(url);
    source.addEventListener("row", (event) => {
      const data = JSON.parse(event.data);
      const row = $$("tbody tr", table).find((r) => r.dataset.name === data.name);
      if (!row) return;
      const checked = $("input[name=name]", row)?.checked;
      row.insertAdjacentHTML("afterend", data.html);
      const fresh = row.nextElementSibling;
      row.remove();
      if (checked && $("input[name=name]", fresh)) $("input[name=name]", fresh).checked = true;
      fresh.classList.add("changed");
      localTimes(fresh);
    });
    source.addEventListener("added", () => {
      added += 1;
      banner(note, added + " new execution(s) since this page was read: reload to see them.");
    });
    source.addEventListener("deleted", (event) => {
      const name = JSON.parse(event.data).name;
      const row = $$("tbody tr", table).find((r) => r.dataset.name === name);
      if (row) row.classList.add("gone");
    });
    for (const kind of ["reset", "failed"]) {
      source.addEventListener(kind, (event) => {
        banner(note, JSON.parse(event.data).message);
        source.close();
      });
    }
  }

  // Execution trees: children are fetched when a node is expanded.
  function treeOf(el) { return el.closest("ul.tree"); }

  function nodesUrl(tree, node, offset) {
    const ns = encodeURIComponent(tree.dataset.ns);
    const root = encodeURIComponent(tree.dataset.root);
    return "/ns/" + ns + "/executions/" + root + "/nodes?node=" + encodeURIComponent(node) +
      "&offset=" + (offset || 0);
  }

  async function fetchNodes(tree, node, offset) {
    const answer = await fetch(nodesUrl(tree, node, offset), { credentials: "same-origin" });
    if (!answer.ok) throw new Error("could not load the children of " + node + " (" + answer.status + ")");
    return answer.text();
  }

  function findNode(tree, name) {
    return $$("li[data-node]", tree).find((li) => li.dataset.node === name);
  }

  async function fill(tree, list, node) {
    const open = $$("li[aria-expanded=true]", list).map((li) => li.dataset.node);
    list.innerHTML = await fetchNodes(tree, node, 0);
    list.dataset.loaded = "1";
    enhance(list);
    for (const name of open) {
      const li = findNode(tree, name);
      if (li) await expand(li);
    }
  }

  async function expand(li) {
    const tree = treeOf(li);
    const list = $(":scope > ul", li);
    if (!list) return;
    li.setAttribute("aria-expanded", "true");
    list.hidden = false;
    if (!list.dataset.loaded) {
      try {
        await fill(tree, list, li.dataset.node);
      } catch (error) {
        list.innerHTML = "";
        const item = document.createElement("li");
        item.className = "error";
        item.textContent = error.message;
        list.appendChild(item);
      }
    }
  }

  function collapse(li) {
    li.setAttribute("aria-expanded", "false");
    const list = $(":scope > ul", li);
    if (list) list.hidden = true;
  }

  function trees() {
    document.addEventListener("click", async (event) => {
      const toggle = event.target.closest("button.toggle");
      if (toggle && treeOf(toggle)) {
        const li = toggle.closest("li");
        if (li.getAttribute("aria-expanded") === "true") collapse(li); else await expand(li);
        return;
      }
      const more = event.target.closest("button.load-more");
      if (more && treeOf(more)) {
        const tree = treeOf(more);
        const item = more.closest("li");
        try {
          item.insertAdjacentHTML("afterend", await fetchNodes(tree, more.dataset.node, more.dataset.offset));
          item.remove();
        } catch (error) {
          more.textContent = error.message;
        }
      }
    });
  }

  function addToggle(li) {
    if ($(":scope > ul", li)) return;
    const node = $(":scope > .node", li);
    const leaf = $(".leaf", node);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "toggle";
    button.textContent = "▸";
    button.setAttribute("aria-label", "Show what is below " + li.dataset.node);
    if (leaf) leaf.replaceWith(button); else node.prepend(button);
    const list = document.createElement("ul");
    list.setAttribute("role", "group");
    list.hidden = true;
    li.appendChild(list);
    li.setAttribute("aria-expanded", "false");
  }

  function updateNode(tree, name, state) {
    if (name === tree.dataset.root) {
      fill(tree, tree, name).catch(() => {});
      return;
    }
    const li = findNode(tree, name);
    if (!li) return;
    const node = $(":scope > .node", li);
    const phase = $("[data-field=phase]", node);
    phase.textContent = state.phase;
    phase.className = "phase " + state.phaseClass;
    $("[data-field=detail]", node).textContent = state.detail;
    $("[data-field=message]", node).textContent = state.message;
    $("[data-field=children]", node).textContent = state.children ? state.children + " below" : "";
    if (state.children) addToggle(li);
    const list = $(":scope > ul", li);
    if (list && list.dataset.loaded) {
      if (li.getAttribute("aria-expanded") === "true") fill(tree, list, name).catch(() => {});
      else delete list.dataset.loaded;
    }
  }

  function markTouched(control) {
    if (control && control.matches && control.matches("input, select, textarea")) {
      control.dataset.touched = "1";
    }
  }

  function controlKey(control) {
    const form = control.form ? control.form.getAttribute("action") : "";
    return form + "|" + control.name + "|" + (control.type === "checkbox" ? control.value : "");
  }

  function touchedValues(root) {
    const kept = new Map();
    for (const control of $$("[data-touched]", root)) {
      if (!control.name) continue;
      kept.set(controlKey(control), control.type === "checkbox" ? control.checked : control.value);
    }
    return kept;
  }

  function restoreValues(root, kept) {
    if (!kept.size) return;
    for (const control of $$("input, select, textarea", root)) {
      const key = controlKey(control);
      if (!kept.has(key)) continue;
      if (control.type === "checkbox") control.checked = kept.get(key);
      else control.value = kept.get(key);
      control.dataset.touched = "1";
    }
  }

  function executionPage() {
    const summary = $("#summary[data-live]");
    if (!summary || !window.EventSource) return;
    const tree = $("ul.tree");
    const note = $("#live-state");
    const pending = {};
    const source = new EventSource(summary.getAttribute("data-live"));
    function apply(id, html) {
      const el = document.getElementById(id);
      if (!el) return;
      const active = document.activeElement;
      if (active && el.contains(active) && active.matches("input, select, textarea, button")) {
        // never swap a form under the user's fingers: nor the button being clicked (focus
        // moves to it on mousedown; a redraw then would swallow the click)
        pending[id] = html;
        return;
      }
      delete pending[id];
      const kept = touchedValues(el);
      el.innerHTML = html;
      restoreValues(el, kept);
      enhance(el);
    }
    // What the user chose in a section's forms survives the section being redrawn.
    document.addEventListener("change", (event) => markTouched(event.target));
    document.addEventListener("input", (event) => markTouched(event.target));
    document.addEventListener("focusout", () => {
      setTimeout(() => { for (const id of Object.keys(pending)) apply(id, pending[id]); }, 0);
    });
    source.addEventListener("section", (event) => {
      const data = JSON.parse(event.data);
      apply(data.id, data.html);
    });
    source.addEventListener("nodes", (event) => {
      if (!tree) return;
      const changed = JSON.parse(event.data);
      for (const name of Object.keys(changed)) updateNode(tree, name, changed[name]);
    });
    source.addEventListener("problem", (event) => banner(note, JSON.parse(event.data).message));
    for (const kind of ["gone", "failed"]) {
      source.addEventListener(kind, (event) => {
        banner(note, JSON.parse(event.data).message + ": reload the page.");
        source.close();
      });
    }
  }

  function jobLogs() {
    const log = $("#log[data-live]");
    if (!log || !window.EventSource) return;
    const state = $("#log-state");
    const source = new EventSource(log.getAttribute("data-live"));
    source.addEventListener("lines", (event) => {
      const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
      log.append(JSON.parse(event.data).map((line) => line + "\n").join(""));
      if (atEnd) log.scrollTop = log.scrollHeight;
      if (state) state.textContent = "following";
    });
    source.addEventListener("end", () => {
      source.close();
      if (state) state.textContent = "ended";
    });
    source.addEventListener("failed", (event) => {
      source.close();
      if (state) state.textContent = JSON.parse(event.data).message;
    });
  }

  function backLinks() {
    for (const link of $$("a[data-back]")) {
      link.addEventListener("click", (event) => {
        if (window.history.length > 1) {
          event.preventDefault();
          window.history.back();
        }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    enhance(document);
    executionsList();
    trees();
    executionPage();
    jobLogs();
    backLinks();
  });
})();
