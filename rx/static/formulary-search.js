// Suggestions under each medicine's name as the doctor types: the formulary drug (found by brand,
// abbreviation or prefix), its TPG list, and whether this consultation may prescribe it and why not.
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
    panel.replaceChildren(...body.drugs.map((s) => suggestionButton(input, s, close)));
  }, 200);
  input.addEventListener("input", ask);
  input.addEventListener("keydown", (e) => e.key === "Escape" && close());
}

/** Suggestions under every medicine name of this form (one with a data-suggest URL). */
export function enhance(form) {
  for (const input of form.querySelectorAll("input[name$='_generic_name']")) attach(form, input);
}

const pageForm = document.querySelector("form[data-suggest]");
if (pageForm) enhance(pageForm);
