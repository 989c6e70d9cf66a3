// Text into HTML/SVG markup.

/** `text` with the five characters that HTML and XML give meaning to written as entities. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
