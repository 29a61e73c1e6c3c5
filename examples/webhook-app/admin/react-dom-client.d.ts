// The one react-dom API the panel uses, typed here because the repository installs react-dom
// without @types/react-dom. In a copy of this example, `npm i -D @types/react-dom` and delete this file.
declare module 'react-dom/client' {
  export function createRoot(container: Element): { render(children: import('react').ReactNode): void; unmount(): void };
}
