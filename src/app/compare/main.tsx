import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { startSite } from '../../site/register';
import { CompareApp } from './CompareApp';
import '../app.css';
import './compare.css';

startSite();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <CompareApp />
  </StrictMode>,
);
