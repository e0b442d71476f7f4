/*
 * Send sikkert – Smart Alert (OnMessageSend, SoftBlock) and the CPR detector.
 *
 * Plain ES5 in one file with no imports: classic Outlook runs it in its
 * JavaScript-only runtime (no DOM, no modules); new Outlook and Outlook on
 * the web load it from commands.html. The task pane loads it too, for the
 * detector (SendsikkertCPR).
 *
 * The rules are those of internal/recipient.ContainsCPR and BirthDate in
 * Go, kept in step by addin/testdata/cpr-vectors.json, which both test.
 */
(function (root) {
  'use strict';

  var MESSAGE = 'Mailen ser ud til at indeholde et CPR-nummer. Brug Send sikkert.';
  var UNREADABLE = 'Send sikkert kunne ikke kontrollere mailen for CPR-numre. Prøv at sende igen, eller brug Send sikkert.';
  // The compose button that opens the task pane (manifest control id).
  var PANE_COMMAND = 'sendsikkertCheckButton';

  function isDigitCode(c) { return c >= 48 && c <= 57; }

  // birthDate reports whether a 10-digit CPR number encodes a real date,
  // not after today, with the century from the seventh digit.
  function birthDate(cpr, now) {
    if (cpr.length !== 10) { return false; }
    for (var i = 0; i < 10; i++) { if (!isDigitCode(cpr.charCodeAt(i))) { return false; } }
    var n = function (i) { return (cpr.charCodeAt(i) - 48) * 10 + (cpr.charCodeAt(i + 1) - 48); };
    var day = n(0), month = n(2), yy = n(4), d7 = cpr.charCodeAt(6) - 48, year;
    if (d7 <= 3) {
      year = 1900 + yy;
    } else if (d7 === 4 || d7 === 9) {
      year = yy <= 36 ? 2000 + yy : 1900 + yy;
    } else {
      year = yy <= 57 ? 2000 + yy : 1800 + yy;
    }
    if (month < 1 || month > 12 || day < 1) { return false; }
    var t = new Date(Date.UTC(year, month - 1, day));
    if (t.getUTCDate() !== day || t.getUTCMonth() !== month - 1) { return false; }
    var today = Date.UTC(now.getFullYear(), now.getMonth(), now.getDate());
    return t.getTime() <= today;
  }

  // containsCPR reports whether text holds a CPR number: six digits (a real
  // date), an optional dash or space, four digits, with no digit on either
  // side.
  function containsCPR(text, now) {
    if (!text) { return false; }
    now = now || new Date();
    var len = text.length;
    for (var i = 0; i + 10 <= len; i++) {
      if (!isDigitCode(text.charCodeAt(i)) || (i > 0 && isDigitCode(text.charCodeAt(i - 1)))) { continue; }
      var j = i;
      while (j < len && j - i < 6 && isDigitCode(text.charCodeAt(j))) { j++; }
      if (j - i !== 6) { i = j; continue; } // no run of six starts inside this run
      var rest = j;
      if (rest < len && (text.charCodeAt(rest) === 45 || text.charCodeAt(rest) === 32)) { rest++; }
      var k = rest;
      while (k < len && k - rest < 4 && isDigitCode(text.charCodeAt(k))) { k++; }
      if (k - rest !== 4 || (k < len && isDigitCode(text.charCodeAt(k)))) { continue; }
      if (birthDate(text.substring(i, j) + text.substring(rest, k), now)) { return true; }
    }
    return false;
  }

  // decide: true when an ordinary send must be stopped.
  function decide(subject, body, attachmentNames, now) {
    now = now || new Date();
    if (containsCPR(subject, now) || containsCPR(body, now)) { return true; }
    for (var i = 0; attachmentNames && i < attachmentNames.length; i++) {
      if (containsCPR(attachmentNames[i], now)) { return true; }
    }
    return false;
  }

  function supported(version) {
    try {
      return Office.context.requirements.isSetSupported('Mailbox', version);
    } catch (e) {
      return false;
    }
  }

  function block(event, message) {
    var opts = { allowEvent: false, errorMessage: message };
    if (supported('1.14')) {
      opts.cancelLabel = 'Åbn Send sikkert';
      opts.commandId = PANE_COMMAND;
    }
    event.completed(opts);
  }

  // onMessageSendHandler runs on every ordinary Send.
  function onMessageSendHandler(event) {
    var item = Office.context.mailbox.item;
    var failed = function () { block(event, UNREADABLE); };
    item.subject.getAsync(function (s) {
      if (s.status !== Office.AsyncResultStatus.Succeeded) { failed(); return; }
      item.body.getAsync(Office.CoercionType.Text, function (b) {
        if (b.status !== Office.AsyncResultStatus.Succeeded) { failed(); return; }
        var finish = function (names) {
          if (decide(s.value, b.value, names, new Date())) {
            block(event, MESSAGE);
          } else {
            event.completed({ allowEvent: true });
          }
        };
        if (!supported('1.8') || !item.getAttachmentsAsync) { finish([]); return; }
        item.getAttachmentsAsync(function (a) {
          if (a.status !== Office.AsyncResultStatus.Succeeded) { failed(); return; }
          var names = [];
          for (var i = 0; i < a.value.length; i++) { names.push(a.value[i].name || ''); }
          finish(names);
        });
      });
    });
  }

  root.SendsikkertCPR = { containsCPR: containsCPR, birthDate: birthDate, decide: decide, MESSAGE: MESSAGE };
  root.onMessageSendHandler = onMessageSendHandler;
  if (typeof Office !== 'undefined' && Office.actions && Office.actions.associate) {
    Office.actions.associate('onMessageSendHandler', onMessageSendHandler);
  }
})(typeof globalThis !== 'undefined' ? globalThis : (typeof self !== 'undefined' ? self : this));
