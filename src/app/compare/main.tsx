import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { CompareApp } from './CompareApp';
import '../app.css';
import './compare.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <CompareApp />
  </StrictMode>,
);
