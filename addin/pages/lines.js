// Shared by the Outlook and Del sikkert panes: a check result line as in
// the clerks' dialog — a glyph, the verdict for screen readers, who, and
// the agent's sentence.
export function line(ok, text, extra) {
  const li = document.createElement('li');
  li.className = 'result ' + (ok === true ? 'ok' : ok === false ? 'bad' : 'info');
  const icon = document.createElement('span');
  icon.className = 'icon';
  icon.setAttribute('aria-hidden', 'true');
  icon.textContent = ok === true ? '✓' : ok === false ? '!' : '•';
  // Screen readers hear the verdict, not the glyph.
  const sr = document.createElement('span');
  sr.className = 'sr-only';
  sr.textContent = ok === true ? 'Sikker: ' : ok === false ? 'Ikke sikker: ' : '';
  const body = document.createElement('span');
  body.className = 'text';
  if (extra) {
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = extra;
    body.append(who);
  }
  const msg = document.createElement('span');
  msg.textContent = text;
  body.append(msg);
  li.append(icon, sr, body);
  return li;
}

// shownAs names a checked recipient: as typed when typed plainly, else by
// its canonical form (221177-1212, 12345674) with how it was written
// ("DK-12 34 56 74"), so the clerk sees the pasted number was understood.
export function shownAs(res) {
  const typed = (res.input || '').trim();
  // Typed plainly (digits, dash, spaces) it is shown as typed.
  if (!res.canonical || res.canonical === typed || /^[0-9 -]+$/.test(typed)) return typed;
  return `${res.canonical} (skrevet »${typed}«)`;
}

// showAlert fills the pane's message bar (empty text hides it).
export function showAlert(text, kind = 'error') {
  const a = document.getElementById('alert');
  a.textContent = text;
  a.className = 'message-bar ' + kind;
  a.hidden = !text;
}

// fillPicker fills a Digitalpost retursvar select from the agent's group
// ({options:[{id,label}], selected}).
export function fillPicker(select, group) {
  select.replaceChildren(...group.options.map((o) => {
    const opt = document.createElement('option');
    opt.value = o.id;
    opt.textContent = o.label;
    opt.selected = o.id === group.selected;
    return opt;
  }));
  select.disabled = false;
}
