// Office.js for the browser tests: exactly the surface the add-in pages
// use, built on office-addin-mock's OfficeMockObject (bundled in front of
// this file by harness.js as window.__officeAddinMock). The test sets the
// compose item in window.__sendsikkertOffice before the page loads; calls
// the pages make (notifications, close) are recorded in window.__officeCalls.
(function () {
  'use strict';
  var cfg = window.__sendsikkertOffice || {};
  var spec = cfg.item || {};
  var OfficeMockObject = window.__officeAddinMock.OfficeMockObject;
  var calls = (window.__officeCalls = []);
  var actions = (window.__officeActions = {});
  var mailboxVersion = cfg.mailbox || '1.15';

  function ok(value) { return { status: 'succeeded', value: value }; }
  // Office answers asynchronously (across a postMessage bridge); so does the
  // shim, through a MessageChannel: a task, but without setTimeout's 4 ms
  // clamp on nested timers, which would skew the Smart Alert timing.
  var channel = new MessageChannel(), queue = [];
  channel.port1.onmessage = function () { var f = queue.shift(); if (f) f(); };
  function later(cb, r) { if (cb) { queue.push(function () { cb(r); }); channel.port2.postMessage(0); } }
  function lastArg(args) { return args[args.length - 1]; }

  function newer(have, want) {
    var a = have.split('.').map(Number), b = String(want).split('.').map(Number);
    for (var i = 0; i < Math.max(a.length, b.length); i++) {
      if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) > (b[i] || 0);
    }
    return true;
  }

  function recipientField(list) {
    return {
      value: list.map(function (a) { return { emailAddress: a, displayName: a, recipientType: 'other' }; }),
      getAsync: function () {
        later(lastArg(arguments), ok(this.value.slice()));
      },
    };
  }

  // Attachment bytes: base64 given, or a deterministic pattern of a size.
  function contentOf(a) {
    if (a.base64 !== undefined) return a.base64;
    var bytes = new Uint8Array(a.size);
    for (var i = 0; i < a.size; i++) bytes[i] = (i * 31 + 7) & 255;
    var s = '';
    for (var j = 0; j < bytes.length; j += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(j, j + 0x8000));
    return btoa(s);
  }

  var bodyText = spec.bodyText !== undefined ? spec.bodyText
    : new DOMParser().parseFromString(spec.bodyHtml || '', 'text/html').body.textContent;
  var attachments = (spec.attachments || []).map(function (a, i) {
    return { id: a.id || 'att' + i, name: a.name, size: a.size || 0, attachmentType: a.attachmentType || 'file', isInline: !!a.isInline, _spec: a };
  });

  var item = new OfficeMockObject({
    itemType: 'message',
    to: recipientField(spec.to || []),
    cc: recipientField(spec.cc || []),
    bcc: recipientField(spec.bcc || []),
    subject: {
      value: spec.subject || '',
      getAsync: function () { later(lastArg(arguments), ok(item.subject.value)); },
    },
    body: {
      getAsync: function (coercion) {
        later(lastArg(arguments), ok(coercion === 'html' ? (spec.bodyHtml || '') : bodyText));
      },
    },
    notificationMessages: {
      replaceAsync: function (key, opts, cb) { calls.push({ call: 'notification', key: key, opts: opts }); later(cb, ok()); },
    },
  }, 'outlook');
  // Methods on the item itself.
  item.setValue('getAttachmentsAsync', function () {
    later(lastArg(arguments), ok(attachments.map(function (a) {
      return { id: a.id, name: a.name, size: a.size, attachmentType: a.attachmentType, isInline: a.isInline };
    })));
  });
  item.setValue('getAttachmentContentAsync', function (id) {
    var cb = lastArg(arguments);
    var a = attachments.filter(function (x) { return x.id === id; })[0];
    if (!a) { later(cb, { status: 'failed', error: { message: 'Ukendt vedhæftning' } }); return; }
    if (a.attachmentType === 'cloud') { later(cb, ok({ format: 'url', content: 'https://example.invalid/' + a.name })); return; }
    later(cb, ok({ format: 'base64', content: contentOf(a._spec) }));
  });
  item.setValue('closeAsync', function (opts, cb) { calls.push({ call: 'closeAsync', opts: opts }); later(cb, ok()); });
  item.setValue('close', function () { calls.push({ call: 'close' }); });
  var handlers = (window.__officeHandlers = {});
  item.setValue('addHandlerAsync', function (type, handler, cb) {
    calls.push({ call: 'addHandlerAsync', type: type });
    (handlers[type] = handlers[type] || []).push(handler);
    later(typeof cb === 'function' ? cb : null, ok());
  });
  // fire lets a test play Outlook raising an item event.
  window.__officeFire = function (type, args) {
    (handlers[type] || []).forEach(function (h) { h(args || { type: type }); });
  };

  // Custom properties live with the item: kept in this origin's
  // localStorage so the pane and the Smart Alert (another page) see the
  // same ones, as they do in Outlook.
  var PROPS = '__sendsikkertCustomProps';
  function props() { try { return JSON.parse(localStorage.getItem(PROPS) || '{}'); } catch (e) { return {}; } }
  item.setValue('loadCustomPropertiesAsync', function () {
    var cb = lastArg(arguments);
    var mine = props();
    later(cb, ok({
      get: function (k) { return mine[k]; },
      set: function (k, v) { mine[k] = v; },
      remove: function (k) { delete mine[k]; },
      saveAsync: function (done) { localStorage.setItem(PROPS, JSON.stringify(mine)); calls.push({ call: 'customPropsSave', value: JSON.parse(JSON.stringify(mine)) }); later(done, ok()); },
    }));
  });

  // roamingSettings live with the mailbox, not the pc: kept in this
  // origin's localStorage so a reload (or a second pane) sees them.
  var ROAM = '__sendsikkertRoaming';
  function roamed() { try { return JSON.parse(localStorage.getItem(ROAM) || '{}'); } catch (e) { return {}; } }
  var pending = roamed();
  var roamingSettings = {
    get: function (k) { return pending[k]; },
    set: function (k, v) { pending[k] = v; },
    remove: function (k) { delete pending[k]; },
    saveAsync: function (cb) { localStorage.setItem(ROAM, JSON.stringify(pending)); calls.push({ call: 'roamingSave', value: JSON.parse(JSON.stringify(pending)) }); later(cb, ok()); },
  };

  window.Office = {
    AsyncResultStatus: { Succeeded: 'succeeded', Failed: 'failed' },
    CoercionType: { Html: 'html', Text: 'text' },
    EventType: { RecipientsChanged: 'olkRecipientsChanged' },
    MailboxEnums: {
      ItemNotificationMessageType: { ProgressIndicator: 'progressIndicator', InformationalMessage: 'informationalMessage', ErrorMessage: 'errorMessage', InsightMessage: 'insightMessage' },
      ActionType: { ShowTaskPane: 'showTaskPane' },
      SendModeOverride: { PromptUser: 'promptUser' },
      AttachmentType: { File: 'file', Item: 'item', Cloud: 'cloud' },
      AttachmentContentFormat: { Base64: 'base64', Url: 'url', Eml: 'eml', ICalendar: 'iCalendar' },
    },
    context: {
      mailbox: { item: item },
      roamingSettings: roamingSettings,
      requirements: {
        isSetSupported: function (name, version) { return name === 'Mailbox' && newer(mailboxVersion, version || '1.1'); },
      },
      displayLanguage: 'da-DK',
    },
    actions: {
      associate: function (name, fn) { actions[name] = fn; },
    },
    onReady: function (cb) {
      var info = { host: 'Outlook', platform: 'PC' };
      return new Promise(function (resolve) {
        setTimeout(function () { if (cb) cb(info); resolve(info); }, 0);
      });
    },
  };
})();
