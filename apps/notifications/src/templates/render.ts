/**
 * Fills `{{variable}}` placeholders. Unknown variables stay visible as they are, so a template
 * ahead of the code shows its gap instead of silently losing text.
 */
export function render(text: string, variables: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{\s*([a-zA-Z][a-zA-Z0-9]*)\s*\}\}/g, (whole, name: string) => variables[name] ?? whole);
}
