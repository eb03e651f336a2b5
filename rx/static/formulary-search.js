// Suggestions under each medicine's name as the doctor types: the formulary drug (found by brand,
// abbreviation or prefix), its TPG list, whether this consultation may prescribe it and why not, and its
// common strengths and forms. Choosing the drug fills the name; choosing one of its strengths fills the
// name, strength and form (suggestions, not limits: the doctor may still type any strength).
// The server decides with the same rules as signing (rx/suggest.py); without scripts the form still
// works with its plain <datalist>. The consult workspace loads the form later and calls enhance(form).

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function suggestionButton(input, s, close) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "suggestion " + (s.allowed ? "allowed" : "refused");
  const name = document.createElement("b");
  name.textContent = s.generic_name;
  const tag = document.createElement("span");
  tag.className = "list-tag";
  tag.textContent = s.list === "prohibited" ? "prohibited" : `List ${s.list}`;
  const why = document.createElement("span");
  why.className = "why";
  why.textContent = s.allowed ? (s.reason ? `allowed ${s.reason}` : "allowed here") : `not allowed: ${s.reason}`;
  button.append(name);
  if (s.matched && s.matched !== s.generic_name) button.append(` (${s.matched})`);
  button.append(" ", tag, " ", why);
  if (s.forms.length) button.append(` · ${s.forms.join(", ")}`);
  button.disabled = s.list === "prohibited";
  button.addEventListener("click", () => {
    input.value = s.generic_name;
    close();
    input.focus();
  });
  return button;
}

/** The line's other field of this name: m0_generic_name → m0_strength. */
function lineField(input, name) {
  return input.form.elements.namedItem(input.name.replace(/_generic_name$/, `_${name}`));
}

function presentationButton(input, s, p, close) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "presentation";
  button.textContent = `${p.strength} ${p.form}`;
  button.setAttribute("aria-label", `${s.generic_name} ${p.strength} ${p.form}`);
  button.disabled = s.list === "prohibited";
  button.addEventListener("click", () => {
    input.value = s.generic_name;
    lineField(input, "strength").value = p.strength;
    lineField(input, "form").value = p.form;
    close();
    (lineField(input, "dose") || input).focus(); // the next thing the doctor writes
  });
  return button;
}

/** One drug: its own button, then a button per common strength and form. */
function suggestionGroup(input, s, close) {
  const group = document.createElement("div");
  group.className = "suggestion-group";
  group.setAttribute("role", "group");
  group.setAttribute("aria-label", s.generic_name);
  group.append(suggestionButton(input, s, close));
  if (s.presentations.length) {
    const strengths = document.createElement("div");
    strengths.className = "presentations";
    strengths.append(...s.presentations.map((p) => presentationButton(input, s, p, close)));
    group.append(strengths);
  }
  return group;
}

function attach(form, input) {
  input.removeAttribute("list"); // this panel replaces the plain datalist
  const panel = document.createElement("div");
  panel.className = "suggestions";
  panel.setAttribute("aria-live", "polite");
  input.after(panel);
  const close = () => panel.replaceChildren();
  let asked = 0;
  const ask = debounce(async () => {
    const typed = input.value.trim();
    const mine = ++asked;
    if (typed.length < 2) return close();
    const url = `${form.dataset.suggest}?q=${encodeURIComponent(typed)}`;
    let body;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return close();
      body = await response.json();
    } catch {
      return close(); // offline for a moment: the form still signs, and the server still checks
    }
    if (mine !== asked) return; // a later keystroke already asked
    panel.replaceChildren(...body.drugs.map((s) => suggestionGroup(input, s, close)));
  }, 200);
  input.addEventListener("input", ask);
  input.addEventListener("keydown", (e) => e.key === "Escape" && close());
  panel.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    close(); // from one of its buttons: back to the name, nothing chosen
    input.focus();
  });
}

/** Suggestions under every medicine name of this form (one with a data-suggest URL). */
export function enhance(form) {
  for (const input of form.querySelectorAll("input[name$='_generic_name']")) attach(form, input);
}

const pageForm = document.querySelector("form[data-suggest]");
if (pageForm) enhance(pageForm);
