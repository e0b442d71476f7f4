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

  var DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

  function todayKey(now) {
    return now.getFullYear() * 10000 + (now.getMonth() + 1) * 100 + now.getDate();
  }

  // dateOK: whether six digits DDMMYY and the seventh digit d7 (as
  // character codes at s[i..i+5], d7) give a real date not after today
  // (as a yyyymmdd number). Plain arithmetic, no Date objects: it runs for
  // every ten-digit candidate in a 1 MB body.
  function dateOK(s, i, d7, today) {
    var day = (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48;
    var month = (s.charCodeAt(i + 2) - 48) * 10 + s.charCodeAt(i + 3) - 48;
    var yy = (s.charCodeAt(i + 4) - 48) * 10 + s.charCodeAt(i + 5) - 48;
    var year;
    if (d7 <= 3) {
      year = 1900 + yy;
    } else if (d7 === 4 || d7 === 9) {
      year = yy <= 36 ? 2000 + yy : 1900 + yy;
    } else {
      year = yy <= 57 ? 2000 + yy : 1800 + yy;
    }
    if (month < 1 || month > 12 || day < 1) { return false; }
    var leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    var max = month === 2 && leap ? 29 : DAYS[month - 1];
    if (day > max) { return false; }
    return year * 10000 + month * 100 + day <= today;
  }

  // birthDate reports whether a 10-digit CPR number encodes a real date,
  // not after today, with the century from the seventh digit.
  function birthDate(cpr, now) {
    if (!/^[0-9]{10}$/.test(cpr)) { return false; }
    return dateOK(cpr, 0, cpr.charCodeAt(6) - 48, todayKey(now || new Date()));
  }

  // containsCPR reports whether text holds a CPR number: six digits (a real
  // date), an optional dash or space, four digits, with no digit on either
  // side. The regular expression finds candidates (fast even on a cold
  // start, which matters for a 1 MB body); the date decides.
  var CANDIDATE = /(^|[^0-9])(?:[0-2][0-9]|3[01])(?:0[1-9]|1[0-2])[0-9]{2}[- ]?[0-9]{4}(?![0-9])/g;
  function containsCPR(text, now) {
    if (!text) { return false; }
    var today = todayKey(now || new Date());
    var re = new RegExp(CANDIDATE.source, 'g');
    var m;
    while ((m = re.exec(text)) !== null) {
      var at = m.index + m[1].length, end = m.index + m[0].length;
      if (dateOK(text, at, text.charCodeAt(end - 4) - 48, today)) { return true; }
      // A candidate can begin right after this one's first character.
      re.lastIndex = at + 1;
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
