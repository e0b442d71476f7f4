// Office.js for the Del sikkert tests: the Common API surface the share
// pane uses (Office.onReady, context.document.url, getFileAsync with its
// File: size, sliceCount, getSliceAsync, closeAsync), with the document
// built on office-addin-mock's OfficeMockObject (bundled in front of this
// file by harness.js as window.__officeAddinMock). The test sets
// window.__sendsikkertOffice before the page loads:
//   { host: 'Word'|'Excel'|'PowerPoint', url, files: { compressed: {key,size}, pdf: {key,size} }, failGetFile, holdSlice }
// Slice bytes come from the test's files on disk: the shim fetches them from
// a test-only path on Office's own CDN origin, which the page's CSP allows
// and the test routes to disk. Calls are recorded in window.__officeCalls.
(function () {
  'use strict';
  var cfg = window.__sendsikkertOffice || {};
  var OfficeMockObject = window.__officeAddinMock.OfficeMockObject;
  var calls = (window.__officeCalls = []);
  var open = (window.__officeOpenFiles = { count: 0 });
  var host = cfg.host || 'Word';

  function ok(value) { return { status: 'succeeded', value: value }; }
  function failed(code, message) { return { status: 'failed', error: { code: code, name: 'OSF.DDA.AsyncResultEnum.ErrorCode', message: message } }; }
  function later(cb, r) { setTimeout(function () { cb(r); }, 0); }

  function file(spec, sliceSize) {
    var size = spec.size;
    open.count++;
    return {
      size: size,
      sliceCount: Math.max(1, Math.ceil(size / sliceSize)),
      getSliceAsync: function (index, cb) {
        calls.push({ call: 'getSliceAsync', index: index, t: performance.now() });
        var start = index * sliceSize;
        if (index < 0 || start >= Math.max(size, 1)) { later(cb, failed(5001, 'Slice out of range')); return; }
        var len = Math.min(sliceSize, size - start);
        if (cfg.holdSlice === index && !window.__sliceReleased) {
          // The test holds this slice to look at the pane mid-upload.
          window.__sliceHeld = true;
          var self = this, args = arguments;
          window.__releaseSlice = function () { window.__sliceReleased = true; self.getSliceAsync.apply(self, args); };
          return;
        }
        fetch('https://appsforoffice.microsoft.com/__sendsikkert-test/slice?key=' + encodeURIComponent(spec.key) + '&start=' + start + '&len=' + len)
          .then(function (r) { return r.arrayBuffer(); })
          .then(function (buf) {
            var u8 = new Uint8Array(buf);
            calls.push({ call: 'sliceRead', index: index, t: performance.now() });
            // Office hands small slices as a plain byte array; keep that
            // shape for them so the pane is tested with both.
            later(cb, ok({ index: index, size: u8.length, data: u8.length < 65536 ? Array.from(u8) : u8 }));
          }, function (e) { later(cb, failed(5001, String(e))); });
      },
      closeAsync: function (cb) {
        calls.push({ call: 'closeAsync' });
        open.count--;
        if (cb) later(cb, ok());
      },
    };
  }

  var doc = new OfficeMockObject({
    getFileAsync: function (fileType, options, cb) {
      if (typeof options === 'function') { cb = options; options = {}; }
      calls.push({ call: 'getFileAsync', fileType: fileType, sliceSize: options && options.sliceSize });
      if (cfg.failGetFile) { later(cb, failed(cfg.failGetFile.code || 5001, cfg.failGetFile.message || 'An internal error has occurred.')); return; }
      if (host === 'PowerPoint' && fileType === 'text') { later(cb, failed(5001, 'Text is not supported in PowerPoint')); return; }
      var spec = (cfg.files || {})[fileType];
      if (!spec) { later(cb, failed(5001, 'File type not available')); return; }
      var sliceSize = Math.min((options && options.sliceSize) || 4194304, 4194304);
      later(cb, ok(file(spec, sliceSize)));
    },
  }, host.toLowerCase());
  doc.url = cfg.url === undefined ? '' : cfg.url;

  window.Office = {
    AsyncResultStatus: { Succeeded: 'succeeded', Failed: 'failed' },
    FileType: { Compressed: 'compressed', Pdf: 'pdf', Text: 'text' },
    HostType: { Word: 'Word', Excel: 'Excel', PowerPoint: 'PowerPoint' },
    context: {
      document: doc,
      host: host,
      displayLanguage: 'da-DK',
      requirements: { isSetSupported: function (name) { return name === 'File'; } },
    },
    onReady: function (cb) {
      var info = { host: host, platform: 'PC' };
      return new Promise(function (resolve) {
        setTimeout(function () { if (cb) cb(info); resolve(info); }, 0);
      });
    },
  };
})();
