// Forms that need a confirmation (cancel, reject, delete) say so with data-confirm.
document.addEventListener("submit", (e) => {
  const form = e.target;
  const question = form.dataset ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) e.preventDefault();
});

// The YAML editor: show line numbers beside the text, and jump to a problem's line.
for (const editor of document.querySelectorAll("textarea[data-line-numbers]")) {
  const gutter = document.getElementById(editor.dataset.lineNumbers);
  const draw = () => {
    if (!gutter) return;
    const lines = editor.value.split("\n").length;
    gutter.textContent = Array.from({ length: lines }, (_, i) => i + 1).join("\n");
    gutter.scrollTop = editor.scrollTop;
  };
  editor.addEventListener("input", draw);
  editor.addEventListener("scroll", () => {
    if (gutter) gutter.scrollTop = editor.scrollTop;
  });
  draw();
}
for (const link of document.querySelectorAll("a[data-goto-line]")) {
  link.addEventListener("click", (e) => {
    const editor = document.getElementById(link.dataset.editor);
    if (!editor) return;
    e.preventDefault();
    const line = Number(link.dataset.gotoLine);
    const lines = editor.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    editor.focus();
    editor.setSelectionRange(start, start + (lines[line - 1] || "").length);
  });
}
