(function(){
var d=document,h=d.documentElement,q=new URLSearchParams(location.search),c=h.classList;
function b(k,v){var s=q.get(k);return s===null?v:!/^(0|false|no|off)$/i.test(s)}
var n=parseInt(q.get('posts')||h.dataset.n,10);if(!(n>=1))n=+h.dataset.n;n=Math.min(50,Math.max(1,n));
var th=q.get('theme');if(th==='light'||th==='dark')c.add('t-'+th);
if(b('compact',false))c.add('compact');
if(!b('media',true))c.add('no-media');
var rt=b('retweets',h.dataset.rt==='1'),re=b('replies',h.dataset.re==='1');
var lang=q.get('lang')==='fr'?'fr':'en';
if(lang==='fr'){var T=JSON.parse(h.getAttribute('data-fr'));h.lang='fr';d.querySelectorAll('[data-i]').forEach(function(e){var s=T[e.getAttribute('data-i')];if(s)e.textContent=s});
d.querySelectorAll('.w').forEach(function(e){e.firstChild.data=T.tagged+' '+(T['r-'+e.getAttribute('data-r')]||'')+' '})}
var hd=q.get('heading');if(hd)d.getElementById('h').textContent=hd.slice(0,80);
if(b('reasons',false))c.add('why');
d.querySelectorAll('a[href]').forEach(function(a){a.target='_blank'});
var k=0;d.querySelectorAll('li').forEach(function(li){var ok=(rt||!li.classList.contains('rt'))&&(re||!li.classList.contains('re'))&&k<n;li.hidden=!ok;if(ok)k++});
if(!k)d.getElementById('e').hidden=false;
try{var rf=new Intl.RelativeTimeFormat(lang,{numeric:'auto'}),df=new Intl.DateTimeFormat(lang,{dateStyle:'medium',timeStyle:'short',timeZone:'UTC'});
d.querySelectorAll('time').forEach(function(t){var x=new Date(t.getAttribute('datetime')),s=Math.min(0,(x-Date.now())/1e3),a=-s,u=a<3600?[60,'minute']:a<86400?[3600,'hour']:a<2592000?[86400,'day']:a<31536000?[2592000,'month']:[31536000,'year'];t.textContent=rf.format(Math.round(s/u[0]),u[1])+' · '+df.format(x)+' UTC'})}catch(e){}
var o=q.get('origin');
if(o&&/^https?:\/\/[^\/?#]+$/.test(o)&&parent!==window){var l=0,p=function(){var y=Math.ceil(h.getBoundingClientRect().height);if(y!==l){l=y;parent.postMessage({type:'aggregator:height',mission:h.dataset.m,height:y},o)}};
if(window.ResizeObserver)new ResizeObserver(p).observe(d.body);window.addEventListener('load',p);p()}
})();
