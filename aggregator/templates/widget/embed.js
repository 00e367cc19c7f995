/* aggregator widget loader: inserts one iframe into each placeholder, nothing else. */
(function(){
var s=document.currentScript||document.querySelector('script[src$="widget/embed.js"]');if(!s)return;
var base=new URL('.',s.src),origin=base.origin,frames=[];
var O=['posts','theme','compact','retweets','replies','media','lang','heading','reasons'];
function init(){
var els=document.querySelectorAll('[data-aggregator-mission]');
for(var i=0;i<els.length;i++){var el=els[i];
if(el.getAttribute('data-aggregator-ready'))continue;
var m=(el.getAttribute('data-aggregator-mission')||'').toLowerCase();
if(!/^[a-z]{2,12}$/.test(m))continue;
el.setAttribute('data-aggregator-ready','1');
var q=new URLSearchParams();
O.forEach(function(o){var v=el.getAttribute('data-'+o);if(v!==null)q.set(o,v)});
q.set('origin',location.origin);
var f=document.createElement('iframe');
f.src=new URL(m+'.html?'+q,base).href;
f.title=el.getAttribute('data-title')||(el.getAttribute('data-lang')==='fr'?'Publications : ':'Posts: ')+m.toUpperCase();
f.setAttribute('sandbox','allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox');
f.setAttribute('referrerpolicy','no-referrer');
f.setAttribute('loading','lazy');
f.style.border='0';f.style.width='100%';f.style.height='420px';f.style.display='block';f.style.colorScheme='normal';
el.appendChild(f);frames.push(f)}}
window.addEventListener('message',function(e){
if(e.origin!==origin||!e.data||e.data.type!=='aggregator:height')return;
for(var i=0;i<frames.length;i++)if(frames[i].contentWindow===e.source){
var y=+e.data.height;if(y>=40&&y<=20000)frames[i].style.height=y+'px'}});
if(document.readyState==='loading')document.addEventListener('DOMContentLoaded',init);else init();
})();
