export function parseHeader(text: string): {
  defines: { name: string; value: string }[];
  structs: { name: string; size: number; fields: { type: string; name: string; count: number; offset: number; size: number }[] }[];
};
export function generate(text: string): string;
