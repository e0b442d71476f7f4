// Real Office files for the tests, made here rather than checked in:
// minimal valid OOXML packages (.docx, .xlsx, .pptx are zip files holding
// [Content_Types].xml, _rels/.rels and the main part) written by a small
// zip writer, grown to a target size by an incompressible media part of
// random bytes, and a hand-written PDF. LibreOffice would make the same
// kinds of files, at minutes of CPU on a 2-core machine; the bytes the
// pane ships are what matters, and the packages open with unzip -t.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const NS = {
  ct: 'http://schemas.openxmlformats.org/package/2006/content-types',
  rels: 'http://schemas.openxmlformats.org/package/2006/relationships',
  officeDoc: 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument',
  r: 'http://schemas.openxmlformats.org/officeDocument/2006/relationships',
  image: 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/image',
};
const XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';

function contentTypes(overrides) {
  return XML + `<Types xmlns="${NS.ct}"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
    '<Default Extension="xml" ContentType="application/xml"/><Default Extension="png" ContentType="image/png"/>' +
    overrides.map(([p, t]) => `<Override PartName="${p}" ContentType="${t}"/>`).join('') + '</Types>';
}
function rels(list) {
  return XML + `<Relationships xmlns="${NS.rels}">` + list.map(([id, type, target]) => `<Relationship Id="${id}" Type="${type}" Target="${target}"/>`).join('') + '</Relationships>';
}

// The parts of each kind; MEDIA names the padding part and who refers to it.
const KINDS = {
  docx: {
    media: { part: 'word/media/image1.png', rels: 'word/_rels/document.xml.rels', target: 'media/image1.png', others: [] },
    parts: () => ({
      '[Content_Types].xml': contentTypes([['/word/document.xml', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml']]),
      '_rels/.rels': rels([['rId1', NS.officeDoc, 'word/document.xml']]),
      'word/document.xml': XML + '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>' +
        '<w:p><w:r><w:t>Afgørelse om boligstøtte</w:t></w:r></w:p><w:p><w:r><w:t>Kære Karen Testesen. Du får hermed kommunens afgørelse.</w:t></w:r></w:p>' +
        '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>',
    }),
  },
  xlsx: {
    media: { part: 'xl/media/image1.png', rels: 'xl/worksheets/_rels/sheet1.xml.rels', target: '../media/image1.png', others: [] },
    parts: () => ({
      '[Content_Types].xml': contentTypes([
        ['/xl/workbook.xml', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml'],
        ['/xl/worksheets/sheet1.xml', 'application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml']]),
      '_rels/.rels': rels([['rId1', NS.officeDoc, 'xl/workbook.xml']]),
      'xl/workbook.xml': XML + `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="${NS.r}"><sheets><sheet name="Ark1" sheetId="1" r:id="rId1"/></sheets></workbook>`,
      'xl/_rels/workbook.xml.rels': rels([['rId1', 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet', 'worksheets/sheet1.xml']]),
      'xl/worksheets/sheet1.xml': XML + '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' +
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Ydelse</t></is></c><c r="B1" t="inlineStr"><is><t>Beløb</t></is></c></row>' +
        '<row r="2"><c r="A2" t="inlineStr"><is><t>Boligstøtte</t></is></c><c r="B2"><v>1234.5</v></c></row></sheetData></worksheet>',
    }),
  },
  pptx: {
    media: { part: 'ppt/media/image1.png', rels: 'ppt/slides/_rels/slide1.xml.rels', target: '../media/image1.png', others: [['rId1', 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/slideLayout', '../slideLayouts/slideLayout1.xml']] },
    parts: () => {
      const p = 'http://schemas.openxmlformats.org/presentationml/2006/main', a = 'http://schemas.openxmlformats.org/drawingml/2006/main';
      const ns = `xmlns:a="${a}" xmlns:r="${NS.r}" xmlns:p="${p}"`;
      const tree = (body) => `<p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>${body}</p:spTree></p:cSld>`;
      const R = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/';
      return {
        '[Content_Types].xml': contentTypes([
          ['/ppt/presentation.xml', 'application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml'],
          ['/ppt/slides/slide1.xml', 'application/vnd.openxmlformats-officedocument.presentationml.slide+xml'],
          ['/ppt/slideLayouts/slideLayout1.xml', 'application/vnd.openxmlformats-officedocument.presentationml.slideLayout+xml'],
          ['/ppt/slideMasters/slideMaster1.xml', 'application/vnd.openxmlformats-officedocument.presentationml.slideMaster+xml'],
          ['/ppt/theme/theme1.xml', 'application/vnd.openxmlformats-officedocument.theme+xml']]),
        '_rels/.rels': rels([['rId1', NS.officeDoc, 'ppt/presentation.xml']]),
        'ppt/presentation.xml': XML + `<p:presentation ${ns}><p:sldMasterIdLst><p:sldMasterId id="2147483648" r:id="rId1"/></p:sldMasterIdLst>` +
          '<p:sldIdLst><p:sldId id="256" r:id="rId2"/></p:sldIdLst><p:sldSz cx="12192000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/></p:presentation>',
        'ppt/_rels/presentation.xml.rels': rels([['rId1', R + 'slideMaster', 'slideMasters/slideMaster1.xml'], ['rId2', R + 'slide', 'slides/slide1.xml'], ['rId3', R + 'theme', 'theme/theme1.xml']]),
        'ppt/slides/slide1.xml': XML + `<p:sld ${ns}>` + tree('<p:sp><p:nvSpPr><p:cNvPr id="2" name="Titel"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/><a:p><a:r><a:t>Afgørelse</a:t></a:r></a:p></p:txBody></p:sp>') + '</p:sld>',
        'ppt/slideLayouts/slideLayout1.xml': XML + `<p:sldLayout ${ns} type="blank">` + tree('') + '</p:sldLayout>',
        'ppt/slideLayouts/_rels/slideLayout1.xml.rels': rels([['rId1', R + 'slideMaster', '../slideMasters/slideMaster1.xml']]),
        'ppt/slideMasters/slideMaster1.xml': XML + `<p:sldMaster ${ns}>` + tree('') +
          '<p:clrMap bg1="lt1" tx1="dk1" bg2="lt2" tx2="dk2" accent1="accent1" accent2="accent2" accent3="accent3" accent4="accent4" accent5="accent5" accent6="accent6" hlink="hlink" folHlink="folHlink"/>' +
          '<p:sldLayoutIdLst><p:sldLayoutId id="2147483649" r:id="rId1"/></p:sldLayoutIdLst></p:sldMaster>',
        'ppt/slideMasters/_rels/slideMaster1.xml.rels': rels([['rId1', R + 'slideLayout', '../slideLayouts/slideLayout1.xml'], ['rId2', R + 'theme', '../theme/theme1.xml']]),
        'ppt/theme/theme1.xml': XML + `<a:theme xmlns:a="${a}" name="Send sikkert"><a:themeElements><a:clrScheme name="S">` +
          ['dk1', 'lt1', 'dk2', 'lt2', 'accent1', 'accent2', 'accent3', 'accent4', 'accent5', 'accent6', 'hlink', 'folHlink']
            .map((c, i) => `<a:${c}><a:srgbClr val="${i % 2 ? 'FFFFFF' : '0F6CBD'}"/></a:${c}>`).join('') +
          '</a:clrScheme><a:fontScheme name="S"><a:majorFont><a:latin typeface="Segoe UI"/><a:ea typeface=""/><a:cs typeface=""/></a:majorFont>' +
          '<a:minorFont><a:latin typeface="Segoe UI"/><a:ea typeface=""/><a:cs typeface=""/></a:minorFont></a:fontScheme>' +
          '<a:fmtScheme name="S"><a:fillStyleLst><a:noFill/><a:noFill/><a:noFill/></a:fillStyleLst><a:lnStyleLst><a:ln/><a:ln/><a:ln/></a:lnStyleLst>' +
          '<a:effectStyleLst><a:effectStyle><a:effectLst/></a:effectStyle><a:effectStyle><a:effectLst/></a:effectStyle><a:effectStyle><a:effectLst/></a:effectStyle></a:effectStyleLst>' +
          '<a:bgFillStyleLst><a:noFill/><a:noFill/><a:noFill/></a:bgFillStyleLst></a:fmtScheme></a:themeElements></a:theme>',
      };
    },
  },
};

// A zip writer: stored entries (no compression: the padding is random),
// CRC-32 patched into the local header after the data is written, so a
// 99 MB part streams to disk in 1 MB pieces.
class Zip {
  constructor(file) { this.fd = fs.openSync(file, 'w'); this.pos = 0; this.entries = []; }
  write(buf) { fs.writeSync(this.fd, buf, 0, buf.length, this.pos); this.pos += buf.length; }
  static localSize(name) { return 30 + Buffer.byteLength(name); }
  static centralSize(name) { return 46 + Buffer.byteLength(name); }
  entry(name, size, fill) {
    const n = Buffer.from(name, 'utf8');
    const at = this.pos;
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0); h.writeUInt16LE(20, 4); h.writeUInt16LE(0x0800, 6); h.writeUInt16LE(0, 8);
    h.writeUInt16LE(0, 10); h.writeUInt16LE(0x21, 12); // 1980-01-01 00:00
    h.writeUInt32LE(size, 18); h.writeUInt32LE(size, 22); h.writeUInt16LE(n.length, 26); h.writeUInt16LE(0, 28);
    this.write(h); this.write(n);
    let crc = 0;
    fill((buf) => { crc = zlib.crc32(buf, crc); this.write(buf); });
    const c = Buffer.alloc(4); c.writeUInt32LE(crc >>> 0, 0);
    fs.writeSync(this.fd, c, 0, 4, at + 14);
    this.entries.push({ n, size, crc: crc >>> 0, at });
  }
  close() {
    const start = this.pos;
    for (const e of this.entries) {
      const h = Buffer.alloc(46);
      h.writeUInt32LE(0x02014b50, 0); h.writeUInt16LE(20, 4); h.writeUInt16LE(20, 6); h.writeUInt16LE(0x0800, 8); h.writeUInt16LE(0, 10);
      h.writeUInt16LE(0, 12); h.writeUInt16LE(0x21, 14); h.writeUInt32LE(e.crc, 16); h.writeUInt32LE(e.size, 20); h.writeUInt32LE(e.size, 24);
      h.writeUInt16LE(e.n.length, 28); h.writeUInt32LE(e.at, 42);
      this.write(h); this.write(e.n);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(this.entries.length, 8); end.writeUInt16LE(this.entries.length, 10);
    end.writeUInt32LE(this.pos - start, 12); end.writeUInt32LE(start, 16);
    this.write(end);
    fs.closeSync(this.fd);
  }
}

// ooxml writes a .docx/.xlsx/.pptx of exactly `size` bytes (or the
// minimal package, when size is 0 or smaller than it).
export function ooxml(kind, file, size = 0) {
  const k = KINDS[kind];
  const parts = k.parts();
  let overhead = 22;
  for (const [name, body] of Object.entries(parts)) overhead += Zip.localSize(name) + Zip.centralSize(name) + Buffer.byteLength(body);
  const padding = size > 0 ? size - overhead : 0;
  const media = padding > 0 ? [['rIdMedia', NS.image, k.media.target]] : [];
  if (k.media.others.length || media.length) parts[k.media.rels] = rels([...k.media.others, ...media]);
  const names = Object.keys(parts);
  let total = 22;
  for (const name of names) total += Zip.localSize(name) + Zip.centralSize(name) + Buffer.byteLength(parts[name]);
  const mediaSize = size > 0 ? size - total - Zip.localSize(k.media.part) - Zip.centralSize(k.media.part) : -1;
  const z = new Zip(file);
  for (const name of names) z.entry(name, Buffer.byteLength(parts[name]), (w) => w(Buffer.from(parts[name], 'utf8')));
  if (mediaSize > 0) {
    z.entry(k.media.part, mediaSize, (w) => {
      for (let left = mediaSize; left > 0; left -= 1 << 20) w(crypto.randomBytes(Math.min(left, 1 << 20)));
    });
  }
  z.close();
  return file;
}

// pdf writes a small valid PDF (one A4 page of text, correct xref).
export function pdf(file, text = 'Afgørelse om boligstøtte') {
  const esc = text.replace(/[()\\]/g, '\\$&').replace(/[^\x20-\x7e]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
  const stream = `BT /F1 14 Tf 72 770 Td (${esc}) Tj ET`;
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
    `<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
  ];
  let out = '%PDF-1.4\n%\xe6\xf8\xe5\n';
  const offsets = [];
  objs.forEach((o, i) => { offsets.push(Buffer.byteLength(out, 'latin1')); out += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n` + offsets.map((o) => String(o).padStart(10, '0') + ' 00000 n \n').join('');
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  fs.writeFileSync(file, Buffer.from(out, 'latin1'));
  return file;
}

export function tmpFile(dir, name) {
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
